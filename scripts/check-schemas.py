#!/usr/bin/env python3
"""check-schemas.py DUMP.json KAFKA_MESSAGE_DIR

Compares proto's message tables (as printed by scripts/schema-dump.c) with Kafka's message
schemas (apache/kafka clients/src/main/resources/common/message/<Name>{Request,Response}.json),
field by field, over the versions each codec handles: names and order of the untagged fields,
types, versions, nullable versions, tags, defaults, api key and first flexible version.

Prints one line per difference ("FAIL") and per deliberate deviation ("NOTE"); exits 1 when
any FAIL was printed. Fields outside a codec's version range may be absent from the tables.
"""
import json
import re
import sys

# Deliberate deviations: (api, direction, field path) -> why. Everything else must match.
OMITTED = {
    ("ApiVersions", "Response", "SupportedFeatures"): "tagged, not kept: decoders skip it",
    ("ApiVersions", "Response", "FinalizedFeaturesEpoch"): "tagged, not kept",
    ("ApiVersions", "Response", "FinalizedFeatures"): "tagged, not kept",
    ("ApiVersions", "Response", "ZkMigrationReady"): "tagged, not kept",
}
INT_TYPES = {"bool", "int8", "int16", "int32", "int64"}
VMAX = 32767

fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL " + msg)


def note(msg):
    print("NOTE " + msg)


def load_schema(path):
    with open(path) as f:
        text = re.sub(r"^\s*//.*$", "", f.read(), flags=re.M)
    return json.loads(text)


def parse_versions(s):
    """'3+' -> (3, VMAX); '1-3' -> (1, 3); '2' -> (2, 2); 'none' -> None."""
    if s is None or s == "none":
        return None
    if s.endswith("+"):
        return (int(s[:-1]), VMAX)
    if "-" in s:
        lo, hi = s.split("-")
        return (int(lo), int(hi))
    return (int(s), int(s))


def clamp(r, lo, hi):
    if r is None:
        return None
    a, b = max(r[0], lo), min(r[1], hi)
    return (a, b) if a <= b else None


def int_default(d, ftype):
    if d is None:
        return 0
    if isinstance(d, bool):
        return int(d)
    if isinstance(d, int):
        return d
    if ftype == "bool":
        return 1 if d == "true" else 0
    return int(d, 0)


def kafka_type(ktype, common):
    """Kafka's type -> the dump's type name, and the sub-fields if any."""
    arr = ktype.startswith("[]")
    base = ktype[2:] if arr else ktype
    if base in ("bool", "int8", "int16", "int32", "int64", "uuid", "string", "bytes",
                "records", "float64", "uint16"):
        return ("[]" + base if arr else base), None
    return ("[]struct" if arr else "struct"), base


def compare(api, direction, path, cfields, kfields, common, rng):
    lo, hi = rng
    by_name = {f["name"]: f for f in cfields}
    seen = set()
    korder = []
    for kf in kfields:
        kv = clamp(parse_versions(kf["versions"]), lo, hi)
        if kv is None:
            continue
        name = kf["name"]
        fpath = path + name
        tagged = "taggedVersions" in kf
        if not tagged:
            korder.append(name)
        cf = by_name.get(name)
        if cf is None:
            why = OMITTED.get((api, direction, fpath))
            if why:
                note(f"{api}{direction} {fpath}: omitted ({why})")
            else:
                fail(f"{api}{direction} {fpath}: missing from the table")
            continue
        seen.add(name)
        cv = clamp((cf["lo"], cf["hi"]), lo, hi)
        if cv != kv:
            fail(f"{api}{direction} {fpath}: versions {cv} in the table, Kafka {kv}")
        ktype, sub = kafka_type(kf["type"], common)
        ctype = cf["type"]
        if ctype == "custom":
            note(f"{api}{direction} {fpath}: custom code (type {kf['type']}, checked by tests)")
            continue
        if ctype == "pstruct":
            ctype = "struct"
        if ctype != ktype:
            fail(f"{api}{direction} {fpath}: type {cf['type']} in the table, Kafka {kf['type']}")
        # nullable versions, within the field's versions and the codec's range
        kn = parse_versions(kf.get("nullableVersions"))
        kn = clamp(kn, *kv) if kn and kv else None
        cn = clamp((cf["nlo"], cf["nhi"]), *cv) if "nlo" in cf and cv else None
        if kn != cn:
            fail(f"{api}{direction} {fpath}: nullable {cn} in the table, Kafka {kn}")
        # tags
        if tagged != ("tag" in cf):
            fail(f"{api}{direction} {fpath}: tagged in one and not the other")
        elif tagged:
            if cf["tag"] != kf["tag"]:
                fail(f"{api}{direction} {fpath}: tag {cf['tag']}, Kafka {kf['tag']}")
            tv = clamp(parse_versions(kf["taggedVersions"]), lo, hi)
            if tv != kv:
                fail(f"{api}{direction} {fpath}: tagged versions {tv} differ from versions")
        # defaults
        d = kf.get("default")
        if ktype in INT_TYPES:
            if int_default(d, ktype) != cf["def"]:
                fail(f"{api}{direction} {fpath}: default {cf['def']}, Kafka {d}")
        elif ktype in ("string", "bytes"):
            if (d == "null") != cf["def_null"]:
                if cf["def_null"] and d is None and kv[0] > lo:
                    note(f"{api}{direction} {fpath}: decoded as null where absent "
                         f"(Kafka's default is \"\"), as the turn-1 decoders did")
                else:
                    fail(f"{api}{direction} {fpath}: default null={cf['def_null']}, Kafka {d}")
        if cf["null_empty"]:
            note(f"{api}{direction} {fpath}: null records written and read as empty (notes §7)")
        # sub-structs
        if sub is not None:
            ksub = kf.get("fields") or common.get(sub)
            if ksub is None:
                fail(f"{api}{direction} {fpath}: no fields for {sub}")
            else:
                compare(api, direction, fpath + ".", cf.get("fields", []), ksub, common, rng)
    corder = [f["name"] for f in cfields if "tag" not in f and f["name"] in seen]
    if corder != korder:
        fail(f"{api}{direction} {path or '<body>'}: untagged field order {corder}, Kafka {korder}")
    for f in cfields:
        if f["name"] not in seen:
            kv = None
            for kf in kfields:
                if kf["name"] == f["name"]:
                    kv = clamp(parse_versions(kf["versions"]), lo, hi)
            if kv is None and clamp((f["lo"], f["hi"]), lo, hi) is not None:
                fail(f"{api}{direction} {path}{f['name']}: not a Kafka field in these versions")


def main():
    dump_path, msg_dir = sys.argv[1], sys.argv[2]
    with open(dump_path) as f:
        apis = json.load(f)
    for a in apis:
        for direction, key in (("Request", "req"), ("Response", "resp")):
            k = load_schema(f"{msg_dir}/{a['name']}{direction}.json")
            if k.get("apiKey") != a["key"]:
                fail(f"{a['name']}{direction}: api key {a['key']}, Kafka {k.get('apiKey')}")
            valid = parse_versions(k["validVersions"])
            if not (valid[0] <= a["min"] and a["max"] <= valid[1]):
                fail(f"{a['name']}{direction}: codec {a['min']}-{a['max']} outside Kafka's "
                     f"valid versions {k['validVersions']}")
            flex = parse_versions(k["flexibleVersions"])
            kflex = flex[0] if flex else VMAX
            if kflex != a["flex"]:
                fail(f"{a['name']}{direction}: first flexible {a['flex']}, Kafka {kflex}")
            common = {c["name"]: c["fields"] for c in k.get("commonStructs", [])}
            compare(a["name"], direction, "", a[key], k["fields"], common, (a["min"], a["max"]))
        print(f"done {a['name']} v{a['min']}-{a['max']}")
    print(f"{fails} difference(s)")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
