"""The mapping tables of docs/fhir.md, generated from interop.codes (``python -m interop.docs --write``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from clinical import vocab
from interop import codes as c

DOC = Path(__file__).resolve().parents[1] / "docs" / "fhir.md"
SHORT = {
    c.LOINC: "LOINC",
    c.SNOMED: "SNOMED CT",
    c.ICD10: "ICD-10",
    c.ICD10CM: "ICD-10-CM",
    c.RXNORM: "RxNorm",
    c.ATC: "ATC",
}


def _pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{SHORT[s]} `{code}`" for s, code in pairs) or "—"


def tables() -> dict[str, str]:
    obs = ["| code | LOINC | unit (UCUM) | other units read (× factor) |", "|---|---|---|---|"]
    for code, entry in vocab.OBSERVATIONS.items():
        rule = c.OBSERVATION_UNITS[code]
        other = ", ".join(f"`{u}` × {float(f):.6g}" for u, f in rule.other.items()) or "—"
        obs.append(
            f"| `{code}` | {f'`{entry.loinc}`' if entry.loinc else '— (local code only)'} | `{rule.ucum}` | {other} |"
        )
    obs.append(
        f"| body weight | `{c.WEIGHT_LOINC}` | `kg` | "
        + ", ".join(f"`{u}` × {float(f):.6g}" for u, f in c.WEIGHT_UNITS.items() if u != "kg")
        + " |"
    )
    cond = ["| case-file code | kind | standard codes read and written |", "|---|---|---|"]
    for code, pairs in c.CONDITION_STANDARD.items():
        cond.append(f"| `{code}` | condition | {_pairs(pairs)} |")
    for code, pairs in c.MANIFESTATION_STANDARD.items():
        cond.append(f"| `{code}` | manifestation | {_pairs(pairs)} |")
    cond.append(f"| SLE diagnosis | attestation (with the extension only) | {_pairs(c.SLE_CODES)} |")
    drugs = ["| drug | standard codes read and written |", "|---|---|"]
    for drug, pairs in c.DRUG_STANDARD.items():
        drugs.append(f"| `{drug}` | {_pairs(pairs)} |")
    drugs.append(
        f"| `cyclophosphamide_iv` / `cyclophosphamide_oral` | {_pairs(c.CYCLOPHOSPHAMIDE)}, told apart by the route (SNOMED CT `{c.ROUTE_IV[1]}` intravenous, `{c.ROUTE_ORAL[1]}` oral) |"
    )
    return {"observations": "\n".join(obs), "conditions": "\n".join(cond), "drugs": "\n".join(drugs)}


def write(path: Path = DOC) -> None:
    text = path.read_text(encoding="utf-8")
    for name, table in tables().items():
        text = re.sub(
            rf"(<!-- BEGIN GENERATED {name} -->\n).*?(<!-- END GENERATED {name} -->)",
            lambda m, t=table: m.group(1) + t + "\n" + m.group(2),
            text,
            flags=re.DOTALL,
        )
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        print("\n\n".join(tables().values()))
