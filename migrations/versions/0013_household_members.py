"""household members and identification (issue 15): the roster's relation, sex and birth date
(from the ID card number), labour, health with a disability grade, schooling, skills and work
away; the household's identification (精准识别) workflow

Existing households were identified before the platform recorded it: they are carried over as
confirmed, their needs and causes untouched. Existing members keep their rows: the relation and
health written as text become the codes (what no code fits becomes "other" / "healthy"), sex
and birth date are read from the ID card number where there is a valid one (the birth year
alone does not make a date, and goes), labour and schooling are left not recorded.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-10

"""

from datetime import date

import sqlalchemy as sa
from alembic import op
from stdnum.cn import ric

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

IDENTIFICATION = ("declared", "proposed", "reviewed", "confirmed", "returned")
RELATIONS = ("head", "spouse", "son", "daughter", "daughter_in_law", "son_in_law", "grandson",
             "granddaughter", "father", "mother", "grandparent", "sibling", "other")  # fmt: skip
SEXES = ("male", "female")
LABOUR = ("strong", "weak", "none", "lost")
HEALTH = ("healthy", "chronic", "serious", "disabled")
SCHOOLING = ("preschool", "illiterate", "primary", "junior", "senior", "vocational", "college")

# The relations staff wrote by hand (the demo's among them), and the code each becomes.
RELATION_TEXT = {
    "head": ("户主", "本人"),
    "spouse": ("配偶", "妻子", "丈夫", "妻", "夫", "之妻", "之夫"),
    "son": ("子", "儿子", "之子", "长子", "次子"),
    "daughter": ("女", "女儿", "之女", "长女", "次女"),
    "daughter_in_law": ("儿媳", "之儿媳"),
    "son_in_law": ("女婿", "之女婿"),
    "grandson": ("孙子", "之孙子", "外孙子", "之外孙子"),
    "granddaughter": ("孙女", "之孙女", "外孙女", "之外孙女"),
    "father": ("父亲", "父", "之父"),
    "mother": ("母亲", "母", "之母"),
    "grandparent": ("祖父", "祖母", "爷爷", "奶奶", "之祖父", "之祖母"),
    "sibling": ("兄", "弟", "姐", "妹", "兄弟姐妹", "之兄弟姐妹"),
}
# Downgrade: the text each code is written back as.
RELATION_BACK = {code: texts[0] for code, texts in RELATION_TEXT.items()} | {"other": "其他"}
HEALTH_BACK = {"healthy": "健康", "chronic": "慢性病", "serious": "大病", "disabled": "残疾"}


def _check(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _relation(text):
    text = (text or "").strip()
    for code, texts in RELATION_TEXT.items():
        if text in texts or text == code:
            return code
    return "other"


def _health(text):
    text = (text or "").strip()
    if text in HEALTH:
        return text
    if "残" in text:
        return "disabled"
    if any(word in text for word in ("大病", "重病", "癌", "重大疾病")):
        return "serious"
    if "病" in text:
        return "chronic"
    return "healthy"


def _from_id_number(id_number):
    """Sex and birth date, from a valid ID card number only."""
    value = (id_number or "").strip().upper()
    try:
        if len(value) != 18 or ric.calc_check_digit(value) != value[-1]:
            return None, None
        born = ric.get_birth_date(value)
    except Exception:  # stdnum raises several kinds on a malformed number
        return None, None
    if born > date.today() or born.year < 1900:
        return None, None
    return ("male" if int(value[16]) % 2 else "female"), born


member = sa.table(
    "household_member",
    sa.column("id", sa.Integer),
    sa.column("household_id", sa.Integer),
    sa.column("relation", sa.String),
    sa.column("id_number", sa.String),
    sa.column("birth_year", sa.Integer),
    sa.column("health", sa.String),
    sa.column("sex", sa.String),
    sa.column("birth_date", sa.Date),
)


def _refuse_duplicates(rows):
    """The unique indexes cannot be built over one person in two rows, or two heads of one
    household: which row is right is for the village's staff to say. Name them and stop."""
    by_number, heads = {}, {}
    for row in rows:
        if row["id_number"]:
            by_number.setdefault(row["id_number"], []).append(row["id"])
        if row["relation"] == "head":
            heads.setdefault(row["household_id"], []).append(row["id"])
    problems = [f"members {ids} share an ID card number" for ids in by_number.values()
                if len(ids) > 1]  # fmt: skip
    problems += [f"household {h} has several heads: members {ids}" for h, ids in heads.items()
                 if len(ids) > 1]  # fmt: skip
    if problems:
        raise RuntimeError("Correct the household members first: " + "; ".join(problems))


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _add_household_columns():
    """Columns added in place, never by rebuilding the table: on SQLite a rebuild drops the old
    table first, which its foreign keys refuse while needs and members refer to its rows. So
    the CHECK and the references are written into each column (SQLite adds those in place); on
    PostgreSQL the references are named constraints, and the carried-over default goes."""
    check = sa.CheckConstraint(_check("identification", IDENTIFICATION),
                               name=op.f("ck_household_identification"))  # fmt: skip
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "identification", sa.String(length=9), check, nullable=False,
            server_default="confirmed"))  # fmt: skip
        batch_op.add_column(sa.Column("village_assessed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column(
            "village_assessment", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column(
            "identification_reason", sa.String(length=500), nullable=False, server_default=""))
        for column in ("identification_reviewed_by_id", "identification_confirmed_by_id"):
            if _sqlite():
                batch_op.add_column(
                    sa.Column(column, sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
                    inline_references=True,
                )
            else:
                batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
                batch_op.create_foreign_key(
                    batch_op.f(f"fk_household_{column}_user"), "user", [column], ["id"])
        batch_op.add_column(sa.Column(
            "identification_reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column(
            "identification_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_household_identification"), ["identification"], unique=False)
    if not _sqlite():
        # Households registered from now on start declared (the models say so).
        with op.batch_alter_table("household", schema=None) as batch_op:
            batch_op.alter_column("identification", server_default=None)
            batch_op.alter_column("village_assessment", server_default=None)
            batch_op.alter_column("identification_reason", server_default=None)


def upgrade():
    _add_household_columns()

    bind = op.get_bind()
    rows = [dict(r) for r in bind.execute(sa.select(
        member.c.id, member.c.household_id, member.c.relation, member.c.id_number,
        member.c.health)).mappings()]  # fmt: skip
    for row in rows:
        row["relation"] = _relation(row["relation"])
        row["id_number"] = (row["id_number"] or "").strip().upper()
        row["health"] = _health(row["health"])
    _refuse_duplicates(rows)

    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "sex", sa.Enum(*SEXES, name="sex", native_enum=False, create_constraint=True,
                           length=6), nullable=True))  # fmt: skip
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column(
            "labour", sa.Enum(*LABOUR, name="labour", native_enum=False, create_constraint=True,
                              length=6), nullable=True))  # fmt: skip
        batch_op.add_column(sa.Column("disability_grade", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column(
            "schooling", sa.Enum(*SCHOOLING, name="schooling", native_enum=False,
                                 create_constraint=True, length=10), nullable=True))  # fmt: skip
        batch_op.add_column(sa.Column(
            "in_school", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column(
            "skills", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column(
            "working_away", sa.Boolean(), nullable=False, server_default=sa.false()))

    for row in rows:
        sex, born = _from_id_number(row["id_number"])
        bind.execute(member.update().where(member.c.id == row["id"]).values(
            relation=row["relation"], id_number=row["id_number"], health=row["health"],
            sex=sex, birth_date=born))  # fmt: skip

    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.alter_column("in_school", server_default=None)
        batch_op.alter_column("skills", server_default=None)
        batch_op.alter_column("working_away", server_default=None)
        batch_op.alter_column("relation", type_=sa.String(length=15),
                              existing_type=sa.String(length=20), existing_nullable=False)
        batch_op.alter_column("health", type_=sa.String(length=8),
                              existing_type=sa.String(length=100), existing_nullable=False)
        batch_op.create_check_constraint("relation", _check("relation", RELATIONS))
        batch_op.create_check_constraint("health", _check("health", HEALTH))
        batch_op.create_check_constraint(
            "disability_grade_range",
            "disability_grade IS NULL OR (health = 'disabled' AND disability_grade BETWEEN 1 AND 4)",
        )
        batch_op.drop_column("birth_year")
        batch_op.create_index(
            "uq_household_member_id_number", ["id_number"], unique=True,
            sqlite_where=sa.text("id_number != ''"), postgresql_where=sa.text("id_number != ''"),
        )  # fmt: skip
        batch_op.create_index(
            "uq_household_member_head", ["household_id"], unique=True,
            sqlite_where=sa.text("relation = 'head'"),
            postgresql_where=sa.text("relation = 'head'"),
        )  # fmt: skip


def downgrade():
    if _sqlite():
        # Dropping the household's columns rebuilds the table (see _add_household_columns):
        # without foreign keys for this migration's connection (a new one has them again).
        op.get_bind().exec_driver_sql("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.drop_index("uq_household_member_head")
        batch_op.drop_index("uq_household_member_id_number")
        batch_op.drop_constraint(op.f("ck_household_member_disability_grade_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_household_member_health"), type_="check")
        batch_op.drop_constraint(op.f("ck_household_member_relation"), type_="check")
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))

    bind = op.get_bind()
    rows = bind.execute(sa.select(
        member.c.id, member.c.relation, member.c.health, member.c.birth_date)).all()  # fmt: skip
    for row in rows:
        bind.execute(member.update().where(member.c.id == row.id).values(
            relation=RELATION_BACK.get(row.relation, "其他"),
            health=HEALTH_BACK.get(row.health, ""),
            birth_year=row.birth_date.year if row.birth_date else None))  # fmt: skip

    with op.batch_alter_table("household_member", schema=None) as batch_op:
        batch_op.alter_column("relation", type_=sa.String(length=20),
                              existing_type=sa.String(length=15), existing_nullable=False)
        batch_op.alter_column("health", type_=sa.String(length=100),
                              existing_type=sa.String(length=8), existing_nullable=False)
        batch_op.drop_constraint(op.f("ck_household_member_schooling"), type_="check")
        batch_op.drop_constraint(op.f("ck_household_member_labour"), type_="check")
        batch_op.drop_constraint(op.f("ck_household_member_sex"), type_="check")
        for column in ("working_away", "skills", "in_school", "schooling", "disability_grade",
                       "labour", "birth_date", "sex"):  # fmt: skip
            batch_op.drop_column(column)

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_identification"))
        batch_op.drop_constraint(op.f("ck_household_identification"), type_="check")
        if not _sqlite():  # SQLite's are in the columns, which the rebuild leaves out
            for column in ("identification_confirmed_by_id", "identification_reviewed_by_id"):
                batch_op.drop_constraint(
                    batch_op.f(f"fk_household_{column}_user"), type_="foreignkey")
        for column in ("identification_confirmed_at", "identification_confirmed_by_id",
                       "identification_reviewed_at", "identification_reviewed_by_id",
                       "identification_reason", "village_assessment", "village_assessed_on",
                       "identification"):  # fmt: skip
            batch_op.drop_column(column)
