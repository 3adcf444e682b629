#!/usr/bin/env python3
"""Regenerates data/communes.csv, departements.csv and regions.csv from the npm
package @etalab/decoupage-administratif@6.0.0 (MIT).

    mkdir -p /tmp/etalab && cd /tmp/etalab && npm install @etalab/decoupage-administratif@6.0.0
    python3 data/tools/extract_reference.py /tmp/etalab/node_modules/@etalab/decoupage-administratif/data data

Paris, Lyon and Marseille are replaced by their arrondissements municipaux
(INSEE codes 75101-75120, 69381-69389, 13201-13216, as a real NIR carries them),
each under the city's name and with the arrondissement's postcode.
"""
import csv, json, sys

src, out = sys.argv[1], sys.argv[2]
communes = json.load(open(f"{src}/communes.json", encoding="utf-8"))
deps = json.load(open(f"{src}/departements.json", encoding="utf-8"))
regs = json.load(open(f"{src}/regions.json", encoding="utf-8"))

plm = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}
rows = []
for c in communes:
    t = c.get("type")
    pop = c.get("population", 0) or 0
    cps = c.get("codesPostaux") or []
    if pop <= 0 or not cps:
        continue
    if t == "commune-actuelle" and c["code"] not in plm:
        rows.append((c["code"], c["nom"], c["departement"], c["region"], cps[0], pop))
    elif t == "arrondissement-municipal" and c.get("commune") in plm:
        rows.append((c["code"], plm[c["commune"]], c["departement"], c["region"], cps[0], pop))
rows.sort()
for r in rows:
    assert all(ch not in r[1] for ch in ',"\n'), r
with open(f"{out}/communes.csv", "w", encoding="utf-8", newline="") as f:
    f.write("insee,nom,departement,region,code_postal,population\n")
    for r in rows:
        f.write(",".join(map(str, r)) + "\n")
with open(f"{out}/departements.csv", "w", encoding="utf-8", newline="") as f:
    f.write("code,nom,region\n")
    for d in sorted(deps, key=lambda d: d["code"]):
        assert "," not in d["nom"]
        f.write(f"{d['code']},{d['nom']},{d['region']}\n")
with open(f"{out}/regions.csv", "w", encoding="utf-8", newline="") as f:
    f.write("code,nom\n")
    for r in sorted(regs, key=lambda r: r["code"]):
        assert "," not in r["nom"]
        f.write(f"{r['code']},{r['nom']}\n")
print(len(rows), "communes")
