"""Loads a published release the way researchers do, and fails on the first surprise.

Usage: python tests/loaders.py RELEASE_DIR [RELEASE_DIR ...]

For each release: pandas (Parquet with filters, CSV typed from datapackage.json), a pyarrow
dataset with a filter, polars' CSV and Parquet readers with their default type guessing, DuckDB's
read_csv_auto and read_parquet, and the Frictionless validator on datapackage.json. Every reader
must see the same rows, codes as text (leading zeros kept, `_T` included), `value` as an integer
and the reporting period as dates. Run by tests/it/loaders.rs.
"""

import json
import sys
from pathlib import Path

import duckdb
import frictionless
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def pandas_dtypes(schema):
    """pandas dtypes from a Table Schema: nullable integers, text as text, dates parsed."""
    dtypes, dates = {}, []
    for field in schema["fields"]:
        kind = field["type"]
        if kind == "integer":
            dtypes[field["name"]] = "Int64"
        elif kind == "number":
            dtypes[field["name"]] = "Float64"
        elif kind == "date":
            dates.append(field["name"])
        else:
            dtypes[field["name"]] = "string"
    return dtypes, dates


def check_release(release: Path):
    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))

    report = frictionless.Package(str(release / "datapackage.json")).validate()
    check(report.valid, f"{release.name}: datapackage.json does not validate:\n{report.to_summary()}")

    check_microdata(release, package, manifest)
    for table in manifest["tables"]:
        name = table["name"]
        dims = [d["name"] for d in table["dimensions"]]
        files = {f["name"] for f in table["files"]}
        csv, parquet = release / f"{name}.csv", release / f"{name}.parquet"
        frames = {}

        if parquet.name in files:
            schema = pq.read_schema(parquet)
            for field in schema:
                check("view" not in str(field.type), f"{parquet.name}: {field.name} is {field.type}")
            measure = table["measures"][0]
            persons = pd.read_parquet(parquet, filters=[("measure", "=", measure)])
            check(len(persons) > 0, f"{parquet.name}: pandas filter found no {measure} rows")
            check(set(persons["measure"]) == {measure}, f"{parquet.name}: filter leaked rows")
            frames["pandas parquet"] = pd.read_parquet(parquet)
            dataset = ds.dataset(parquet).to_table(filter=ds.field("measure") == measure)
            check(dataset.num_rows == len(persons), f"{parquet.name}: pyarrow dataset filter")
            frames["polars parquet"] = pl.read_parquet(parquet).to_pandas()
            con = duckdb.connect()
            count = con.execute(
                "select count(*) from read_parquet(?) where measure = ?", [str(parquet), measure]
            ).fetchone()[0]
            check(count == len(persons), f"{parquet.name}: duckdb sees {count} {measure} rows")

        if csv.name in files:
            resource = next(r for r in package["resources"] if r["path"] == csv.name)
            dtypes, dates = pandas_dtypes(resource["schema"])
            typed = pd.read_csv(csv, dtype=dtypes, parse_dates=dates, keep_default_na=False,
                                na_values=[""], encoding="utf-8-sig")
            check(str(typed["value"].dtype) == "Int64", f"{csv.name}: value is {typed['value'].dtype}")
            frames["pandas csv"] = typed
            guessed = pl.read_csv(csv)
            for d in dims:
                check(guessed.schema[d] == pl.String, f"{csv.name}: polars reads {d} as {guessed.schema[d]}")
            check(guessed.schema["value"] == pl.Int64, f"{csv.name}: polars reads value as {guessed.schema['value']}")
            frames["polars csv"] = guessed.to_pandas()
            con = duckdb.connect()
            rel = con.execute("select * from read_csv_auto(?)", [str(csv)])
            columns = [c[0] for c in rel.description]
            rows = rel.fetchall()
            check(columns[0] == dims[0], f"{csv.name}: duckdb's first column is {columns[0]!r}")
            ducked = pd.DataFrame(rows, columns=columns)
            for d in dims:
                check(all(isinstance(v, str) for v in ducked[d]), f"{csv.name}: duckdb reads {d} as non-text")
            frames["duckdb csv"] = ducked

        # Every reader sees the same cells, codes and values.
        def key(frame):
            out = frame[dims + ["measure", "value", "status"]].copy()
            for d in dims + ["measure", "status"]:
                out[d] = out[d].astype(str)
            out["value"] = out["value"].astype("Int64")
            return out.sort_values(dims + ["measure"]).reset_index(drop=True)

        first_name, first = next(iter(frames.items()))
        for other_name, other in frames.items():
            a, b = key(first), key(other)
            check(a.equals(b), f"{name}: {other_name} differs from {first_name}")
        for d in dims:
            check("_T" in set(first[d].astype(str)), f"{name}: no total code in {d}")
        print(f"{release.name}/{name}: {len(first)} rows agree across {', '.join(frames)}")


def check_microdata(release: Path, package, manifest):
    """Record-level outputs: the same records in pandas (CSV typed from datapackage.json and
    Parquet), polars and DuckDB, codes as text, every pseudonym 32 hex digits."""
    for entry in manifest.get("microdata", []):
        name = entry["name"]
        columns = ["pseudonym"] + [f["name"] for f in entry["fields"]]
        csv, parquet = release / f"{name}.csv", release / f"{name}.parquet"
        resource = next(r for r in package["resources"] if r["path"] == csv.name)
        dtypes, dates = pandas_dtypes(resource["schema"])
        frames = {
            "pandas csv": pd.read_csv(csv, dtype=dtypes, parse_dates=dates, keep_default_na=False,
                                      na_values=[""], encoding="utf-8-sig"),
            "pandas parquet": pd.read_parquet(parquet),
            "polars csv": pl.read_csv(csv, infer_schema_length=0).to_pandas(),
            "duckdb parquet": duckdb.connect().execute("select * from read_parquet(?)", [str(parquet)]).df(),
        }
        for reader, frame in frames.items():
            check(list(frame.columns) == columns, f"{name}: {reader} sees columns {list(frame.columns)}")
            check(len(frame) == entry["records"], f"{name}: {reader} sees {len(frame)} records")
        first = frames["pandas csv"].fillna("").astype(str).reset_index(drop=True)
        for reader, frame in frames.items():
            other = frame.fillna("").astype(str).reset_index(drop=True)
            check(first.equals(other), f"{name}: {reader} differs from pandas csv")
        check(first["pseudonym"].str.fullmatch("[0-9a-f]{32}").all(), f"{name}: a malformed pseudonym")
        print(f"{release.name}/{name}: {len(first)} records agree across {', '.join(frames)}")


def main():
    releases = [Path(p) for p in sys.argv[1:]]
    check(releases, "no release given")
    for release in releases:
        check_release(release)
    print(f"{len(releases)} releases loaded")


if __name__ == "__main__":
    main()
