"""Follow-ups of results (跟踪问效), a donor's impact (帮扶成效) and certificates of
contribution (帮扶证明): issue 16."""
