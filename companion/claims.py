"""The papers' claims that the notebooks check, one registry for the summary report.

Each notebook records, for the claims it owns, 'supported' or 'contradicted' with the evidence
(our number beside the paper's); a claim no notebook has recorded shows as 'not run'. Section
notebooks add their claims here as they land.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    id: str
    notebook: str
    source: str
    text: str


CLAIMS = {c.id: c for c in [
    Claim("dncnn_s25_set12", "00_quickstart", "Zhang et al. 2017, Table II",
          "The official DnCNN-S (sigma 25) reaches 30.44 dB mean PSNR on Set12 at sigma 25."),
    Claim("ffdnet_gray_set12", "00_quickstart", "Zhang et al. 2018, Table III",
          "The official FFDNet (gray) reaches 30.43 dB mean PSNR on Set12 at sigma 25."),
]}

STATUSES = ("supported", "contradicted", "not run")


def claim(claim_id: str) -> Claim:
    if claim_id not in CLAIMS:
        raise ValueError(f"unknown claim {claim_id!r}; registered: {', '.join(sorted(CLAIMS))}")
    return CLAIMS[claim_id]
