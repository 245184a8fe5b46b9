"""Run a peer tool (Splink or recordlinkage) on the same files as `earlyhelp link`/`dedupe`.

Usage: python peers.py TOOL SCHEMA OUT.csv LEFT.csv [RIGHT.csv]
  TOOL   splink | recordlinkage
  SCHEMA febrl (FEBRL columns, id rec_id) | synthetic (the generator's columns, id id) |
         households (the second generator's columns, id rec_id; Splink only)
Writes `left_id,right_id,match_probability` for pairs at or above 0.5, like our engine. Neither
tool sees the true links: training is unsupervised (Splink: u by random sampling, m by EM;
recordlinkage: the ECM classifier). Both get cleaned input (dates in one format, postcodes and
sexes tidied) because, unlike our engine, they do not clean values themselves.
"""
import sys
import time

import pandas as pd

FEBRL_ID, SYNTHETIC_ID = "rec_id", "id"


def load(path, schema):
    df = pd.read_csv(path, dtype=str)
    if schema == "synthetic":
        for col in ["given_name", "family_name", "address"]:
            df[col] = df[col].str.lower().str.strip()
        dob = pd.to_datetime(df["date_of_birth"], dayfirst=True, errors="coerce", format="mixed")
        df["date_of_birth"] = dob.dt.strftime("%Y-%m-%d")
        pc = df["postcode"].str.upper().str.replace(" ", "", regex=False)
        df["postcode"] = pc.str[:-3] + " " + pc.str[-3:]
        df["sex"] = df["sex"].str[0].str.lower()
        df["phone"] = df["phone"].str.replace(r"\D", "", regex=True)
    if schema == "households":
        for col in ["first_name", "surname", "street", "town"]:
            df[col] = df[col].str.lower().str.strip()
        dob = pd.to_datetime(df["dob"], dayfirst=True, errors="coerce", format="mixed")
        df["dob"] = dob.dt.strftime("%Y-%m-%d")
        pc = df["postcode"].str.upper().str.replace(" ", "", regex=False)
        df["postcode"] = pc.str[:-3] + " " + pc.str[-3:]
        df["gender"] = df["gender"].str[0].str.lower()
    return df


def splink_settings(schema, link_type):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if schema == "febrl":
        # After Splink's own FEBRL4 tutorial.
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("state"),
        ]
        rules = [
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ]
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        em_rules = [block_on("given_name", "surname"), block_on("date_of_birth"), block_on("postcode")]
        uid = FEBRL_ID
    elif schema == "households":
        # As Splink's tutorials advise for people with addresses in parts.
        comparisons = [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("house_number"),
            cl.JaroWinklerAtThresholds("street", [0.92, 0.8]),
            cl.ExactMatch("town"),
            cl.PostcodeComparison("postcode"),
        ]
        rules = [
            block_on("dob"),
            block_on("first_name", "surname"),
            block_on("surname", "substr(dob, 1, 4)"),
            block_on("postcode", "substr(first_name, 1, 1)"),
        ]
        deterministic = [block_on("first_name", "surname", "dob")]
        em_rules = [block_on("dob"), block_on("first_name", "surname"), block_on("postcode")]
        uid = FEBRL_ID
    else:
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.JaroWinklerAtThresholds("address", [0.92, 0.8]),
            cl.ExactMatch("phone"),
        ]
        rules = [
            block_on("date_of_birth"),
            block_on("given_name", "family_name"),
            block_on("family_name", "substr(date_of_birth, 1, 4)"),
            block_on("postcode", "substr(given_name, 1, 1)"),
            block_on("phone"),
        ]
        deterministic = [block_on("given_name", "family_name", "date_of_birth")]
        em_rules = [block_on("date_of_birth"), block_on("given_name", "family_name"), block_on("postcode")]
        uid = SYNTHETIC_ID
    settings = SettingsCreator(
        link_type=link_type,
        unique_id_column_name=uid,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    return settings, deterministic, em_rules


def run_splink(schema, frames):
    import splink
    from splink import DuckDBAPI, Linker

    link_type = "link_only" if len(frames) == 2 else "dedupe_only"
    settings, deterministic, em_rules = splink_settings(schema, link_type)
    db_api = DuckDBAPI()
    tables = [db_api.register(df) for df in frames]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    uid = settings.unique_id_column_name
    out = pairs[[f"{uid}_l", f"{uid}_r", "match_probability"]]
    out.columns = ["left_id", "right_id", "match_probability"]
    return out, f"splink {splink.__version__}"


def run_recordlinkage(schema, frames):
    import recordlinkage as rl

    uid = FEBRL_ID if schema == "febrl" else SYNTHETIC_ID
    frames = [df.set_index(uid) for df in frames]
    family = "surname" if schema == "febrl" else "family_name"
    indexer = rl.Index()
    indexer.block("given_name")
    indexer.block(family)
    indexer.block("date_of_birth")
    indexer.block("postcode")
    pairs = indexer.index(*frames)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string(family, family, method="jarowinkler", threshold=0.85, label=family)
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("postcode", "postcode", label="postcode")
    if schema == "febrl":
        compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
        compare.exact("street_number", "street_number", label="street_number")
        compare.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
        compare.exact("suburb", "suburb", label="suburb")
        compare.exact("state", "state", label="state")
    else:
        compare.exact("sex", "sex", label="sex")
        compare.string("address", "address", method="jarowinkler", threshold=0.85, label="address")
        compare.exact("phone", "phone", label="phone")
    features = compare.compute(pairs, *frames)
    ecm = rl.ECMClassifier(binarize=0.5)
    ecm.fit(features)
    probability = ecm.prob(features)
    matched = probability[probability >= 0.5]
    out = pd.DataFrame(
        {
            "left_id": matched.index.get_level_values(0),
            "right_id": matched.index.get_level_values(1),
            "match_probability": matched.values,
        }
    )
    return out, f"recordlinkage {rl.__version__}"


def main():
    tool, schema, out_path, *paths = sys.argv[1:]
    started = time.time()
    frames = [load(p, schema) for p in paths]
    runner = {"splink": run_splink, "recordlinkage": run_recordlinkage}[tool]
    pairs, version = runner(schema, frames)
    pairs.to_csv(out_path, index=False)
    print(f"{version}: {len(pairs)} pairs in {time.time() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
