"""Bulk import of the household register and its needs from the Excel template (批量导入).

Village staff download a template (Chinese headers, drop-down lists), fill it in and upload it.
Every row is checked and the user sees a preview with row-by-row messages; nothing is written
until they confirm, and then every row or none. The template speaks Chinese whatever the page's
language: registers are exchanged between offices as Chinese spreadsheets.

``template`` builds the workbook, ``reading`` turns an upload into a checked ``Preview``,
``pending`` keeps the upload between the check and the confirmation, ``writing`` writes it.
The rules themselves belong to the households and needs services; the import applies them.
"""
