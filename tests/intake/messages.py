"""Real-looking HL7 v2 ADT messages, in the dialects of several sending systems."""

import itertools

_ids = itertools.count(1)


def adt(
    event: str,
    *,
    mrn: str = "MRN100",
    authority: str = "GENERAL",
    visit: str = "V100",
    facility: str = "GENERAL",
    last: str = "Moreno",
    first: str = "Ada",
    dob: str = "19480517",
    phone: str = "(202)555-0143",
    language: str = "eng",
    admitted: str = "20261201083000",
    discharged: str = "",
    disposition: str = "01",
    diagnosis: str = "I50.9",
    version: str = "2.5.1",
    control_id: str | None = None,
    sender: str = "GENERAL",
    dialect: str = "epic",
    prior_mrn: str = "",
    charset: str = "",
    extra_segments: tuple[str, ...] = (),
) -> bytes:
    """One ADT message. Dialects: `epic` (v2.5.1 style, \\r, EVN-6, DG1), `cloverleaf` (v2.3, \\r\\n endings, no
    DG1 but PV2-3, phone as XTN components), `mirth` (\\n endings, a ZPD Z-segment, PID-3 repeating)."""
    control_id = control_id or f"MSG{next(_ids):08d}"
    trigger = {"A40": "ADT_A39", "A13": "ADT_A01", "A11": "ADT_A09", "A08": "ADT_A01", "A04": "ADT_A01"}.get(
        event, f"ADT_{event}"
    )
    msh = f"MSH|^~\\&|EPICADT|{sender}|SEQUORA|SEQUORA|20261201090000||ADT^{event}^{trigger}|{control_id}|P|{version}"
    if charset:
        msh += f"||||||{charset}"
    pid3 = f"{mrn}^^^{authority}^MR"
    if dialect == "mirth":
        pid3 = f"123-45-6789^^^SSA^SS~{pid3}"
    pid13 = f"{phone}^PRN^PH"
    if dialect == "cloverleaf" and phone:
        digits = "".join(c for c in phone if c.isdigit())
        pid13 = f"^PRN^PH^^1^{digits[:3]}^{digits[3:]}"
    segments = [
        msh,
        f"EVN|{event}|20261201090000||||{discharged or admitted}",
        f"PID|1||{pid3}||{last}^{first}^^^^^L||{dob}|F|||12 Main St^^Springfield^VA^22150||{pid13}||{language}",
    ]
    if event == "A40":
        segments.append(f"MRG|{prior_mrn}^^^{authority}^MR")
    pv1 = ["PV1", "1", "I", f"4W^401^A^{facility}"] + [""] * 15 + [visit] + [""] * 16 + [disposition]
    pv1 += [""] * 7 + [admitted, discharged]
    segments.append("|".join(pv1))
    if dialect == "cloverleaf":
        segments.append(f"PV2|||{diagnosis}^Heart failure^I10")
    else:
        segments.append(f"DG1|1||{diagnosis}^Heart failure, unspecified^I10||20261201|A")
    if dialect == "mirth":
        segments.append("ZPD|1|LOYALTY^GOLD|\\T\\ custom")
    segments.extend(extra_segments)
    ending = {"cloverleaf": "\r\n", "mirth": "\n"}.get(dialect, "\r")
    text = ending.join(segments) + ending
    codec = {"8859/1": "latin-1"}.get(charset, "utf-8")
    return text.encode(codec)


def ack_fields(ack: str) -> dict[str, str]:
    """MSA-1, MSA-2, MSA-3 and ERR's location, code and words of an acknowledgement."""
    segments = {line.split("|")[0]: line.split("|") for line in ack.strip("\r").split("\r")}
    msa, err = segments["MSA"], segments.get("ERR", [""] * 9)
    return {
        "code": msa[1],
        "control_id": msa[2],
        "text": msa[3] if len(msa) > 3 else "",
        "err_location": err[2],
        "err_code": err[3].split("^")[0],
    }
