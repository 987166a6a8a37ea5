"""Local twin: the offline store answers SQL like Athena, read-only, with clear errors."""

from __future__ import annotations

import pytest

from lab.featurestore import QueryError, workshop_query


@pytest.fixture
def shop(store, frame):
    info = store.create_group("shop-items", frame)
    store.ingest("shop-items", frame)
    return info


@pytest.mark.parametrize("table", ['"shop-items"', '"SHOP-ITEMS"', "shop_items",
                                   '"shop_items"'])
def test_a_group_answers_to_its_name(store, shop, table):
    assert store.query(f"SELECT count(*) AS n FROM {table}").frame["n"][0] == 5


def test_the_glue_table_name_works_as_in_athena(store, shop):
    for table in (shop.table_name, f"sagemaker_featurestore.{shop.table_name}",
                  f'"sagemaker_featurestore"."{shop.table_name}"'):
        assert store.query(f"SELECT count(*) AS n FROM {table}").frame["n"][0] == 5


def test_with_and_joins(store, shop):
    sql = ('WITH a AS (SELECT record_id, price FROM "shop-items") '
           'SELECT a.record_id, b.city FROM a JOIN shop_items b USING (record_id) '
           "WHERE a.price > 102 ORDER BY 1")
    result = store.query(sql)
    assert result.frame["city"].tolist() == ["city-2", "city-3", "city-4"]
    assert result.rows == 3 and result.seconds > 0
    assert result.to_json()["data"][0] == [2, "city-2"]


def test_an_empty_group_is_an_empty_table(store, frame):
    store.create_group("empty", frame)
    got = store.query('SELECT * FROM "empty"').frame
    assert len(got) == 0 and "price" in got.columns


def test_workshop_query_text():
    assert workshop_query("lab-train", ["PRICE", "SQUARE_FEET", "odd-name"]) == (
        'SELECT PRICE, SQUARE_FEET, "odd-name"\nFROM "lab-train"\nORDER BY record_id')
    assert "row_number() OVER (PARTITION BY record_id" in workshop_query("g", ["a"], True)


@pytest.mark.parametrize("sql, message", [
    ('SELEC * FROM "shop-items"', "not valid SQL"),
    ("SELECT nope FROM shop_items", 'Referenced column "nope" not found'),
    ("SELECT * FROM missing_group", "Table with name missing_group does not exist: there is "
                                    'no feature group by that name in this workspace. Query '
                                    'one of "shop-items"'),
    ('DELETE FROM "shop-items"', "Only SELECT"),
    ('CREATE TABLE t AS SELECT 1', "Only SELECT"),
    ("COPY (SELECT 1) TO 'x.csv'", "Only SELECT"),
    ("SELECT 1; SELECT 2", "one statement at a time"),
    ("   ", "empty"),
    ("SELECT * FROM read_csv('/etc/passwd')", "feature group tables only"),
    ("SET enable_external_access = true", "Only SELECT"),
])
def test_bad_sql_is_refused_clearly_and_changes_nothing(store, shop, sql, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.query(sql)
    assert store.query('SELECT count(*) AS n FROM "shop-items"').frame["n"][0] == 5


def test_query_without_any_group(store):
    with pytest.raises(QueryError, match="no feature group yet"):
        store.query('SELECT * FROM "lab-train"')


def test_only_the_offline_folder_is_readable(store, shop):
    folder = next(store.offline_root.rglob("hour=*"))  # like reading the S3 files: allowed
    assert len(store.query(f"SELECT * FROM read_parquet('{folder}/*.parquet')").frame) == 5
    with pytest.raises(QueryError, match="feature group tables only"):
        store.query(f"SELECT * FROM read_csv('{store.root / 'online.db'}')")


def test_views_follow_groups_coming_and_going(store, frame):
    store.create_group("first", frame)
    assert store.query('SELECT count(*) AS n FROM "first"').frame["n"][0] == 0
    store.delete_group("first")
    with pytest.raises(QueryError, match="no feature group yet"):
        store.query('SELECT count(*) FROM "first"')
    store.create_group("first", frame)
    store.ingest("first", frame)
    assert store.query('SELECT count(*) AS n FROM "first"').frame["n"][0] == 5
