"""HL7 v2 ADT messages: bytes to text by the message's character set, the header, the fields we map, and the
acknowledgement. Parsing is python-hl7's (`hl7.parse`, which also unescapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and
the sender's own delimiters from MSH-1 and MSH-2)."""

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass

import hl7
import hl7.util
from django.utils import timezone

from intake.adt import AdtData, AdtError, PatientData, VisitData
from intake.mapping import aware, condition_for, facility_for, language_for, phone_for

# python-hl7 logs the text of a field it cannot unescape, at ERROR, under its module's file name: a patient's data
# in our logs (docs/architecture.md: no PHI in logs). What it could not unescape is kept as sent either way.
logging.getLogger(hl7.util.__file__).disabled = True

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")

# MSH-18 (HL7 table 0211) to Python codecs. No MSH-18 means ASCII in the standard; engines in practice send UTF-8
# or Latin-1 undeclared, so an undeclared message is read as UTF-8, else as Latin-1 (docs/integration.md).
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "ISO IR87": "iso2022_jp",
    "ISO IR159": "iso2022_jp",
    "KS X 1001": "euc_kr",
    "GB 18030-2000": "gb18030",
    "BIG-5": "big5",
}


class UnreadableMessage(Exception):
    """Not an HL7 message we can read at all (no MSH, an unknown character set): answered AR."""


@dataclass
class Header:
    sending_application: str
    sending_facility: str
    control_id: str
    message_type: str  # ADT^A03
    event: str  # A03
    version: str
    charset: str


def decode(block: bytes) -> tuple[str, str]:
    """The message's text and the codec it was read with. Segments end in \\r; \\r\\n and \\n are taken too."""
    if not block.startswith(b"MSH") or len(block) < 8:
        raise UnreadableMessage("The message does not start with an MSH segment.")
    field_sep = block[3:4]
    first_segment = block.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r", 1)[0]
    fields = first_segment.split(field_sep)
    declared = fields[17].split(block[4:5])[0].decode("ascii", "replace").strip() if len(fields) > 17 else ""
    if declared:
        codec = CHARSETS.get(declared.upper())
        if codec is None:
            raise UnreadableMessage(f"Unknown character set {declared!r} in MSH-18.")
        candidates = [codec]
    else:
        candidates = ["utf-8", "latin-1"]
    for codec in candidates:
        try:
            text = block.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # no HL7 character set has NUL, and PostgreSQL's text cannot hold it
            raise UnreadableMessage("The message contains a NUL byte.")
        return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r"), codec
    raise UnreadableMessage(f"The message is not valid {declared} text.")


def parse(text: str) -> hl7.Message:
    try:
        message = hl7.parse(text)
        message.segment("MSH")
    except Exception as exc:  # python-hl7 raises several types (ParseException, KeyError, IndexError) for bad text
        raise UnreadableMessage(f"Not a parsable HL7 message: {type(exc).__name__}.") from None
    return message


def value(message: hl7.Message, path: str) -> str:
    """A field's text, unescaped, or "" when the segment, field or component is absent."""
    try:
        return str(message[path]).strip()
    except (KeyError, IndexError, ValueError, hl7.HL7Exception):
        return ""


def header(message: hl7.Message) -> Header:
    return Header(
        sending_application=value(message, "MSH.F3.R1.C1"),
        sending_facility=value(message, "MSH.F4.R1.C1"),
        control_id=value(message, "MSH.F10"),
        message_type=f"{value(message, 'MSH.F9.R1.C1')}^{value(message, 'MSH.F9.R1.C2')}".strip("^"),
        event=value(message, "MSH.F9.R1.C2") or value(message, "EVN.F1"),
        version=value(message, "MSH.F12.R1.C1"),
        charset=value(message, "MSH.F18.R1.C1"),
    )


# HL7's DTM/TS, at least to the day (a stay's times and a birth date need one): YYYYMMDD[HHMM[SS[.S+]]][+/-ZZZZ].
TIMESTAMP = re.compile(r"^\d{8}(\d{4}(\d{2}(\.\d{1,4})?)?)?([+-]\d{4})?$")


def timestamp(message: hl7.Message, path: str) -> dt.datetime | None:
    raw = value(message, path)
    if not raw:
        return None
    if not TIMESTAMP.match(raw):
        raise AdtError(path_name(path), 102, f"Bad timestamp in {path_name(path)}.")
    try:
        return aware(hl7.parse_datetime(raw))
    except (ValueError, TypeError):
        raise AdtError(path_name(path), 102, f"Bad timestamp in {path_name(path)}.") from None


def path_name(path: str) -> str:
    """PID.F13.R1.C1 -> PID-13, as HL7 people write it."""
    segment, field = path.split(".")[:2]
    return f"{segment}-{field.lstrip('F')}"


def _repetitions(message: hl7.Message, path: str, limit: int = 10) -> list[int]:
    found = []
    for r in range(1, limit + 1):
        if not any(value(message, f"{path}.R{r}.C{c}") for c in range(1, 8)):
            break
        found.append(r)
    return found


def _identifier(message: hl7.Message, path: str) -> tuple[str, str]:
    """(id, assigning authority) of a CX list (PID-3, MRG-1): the repetition typed MR, else the first."""
    reps = _repetitions(message, path)
    chosen = next((r for r in reps if value(message, f"{path}.R{r}.C5").upper() == "MR"), reps[0] if reps else 1)
    return value(message, f"{path}.R{chosen}.C1"), value(message, f"{path}.R{chosen}.C4")


def _phone(message: hl7.Message) -> str:
    """PID-13, a repeating XTN: the first telephone (not an email: XTN-3 Internet), its XTN-1, else built from
    XTN-5 to XTN-7 (v2.5: country, area, local number)."""
    for r in _repetitions(message, "PID.F13"):
        if value(message, f"PID.F13.R{r}.C3").upper() in ("INTERNET", "X.400"):
            continue
        number = value(message, f"PID.F13.R{r}.C1")
        if not number:
            parts = [value(message, f"PID.F13.R{r}.C{c}") for c in (5, 6, 7)]
            number = ("+" + "".join(parts)) if parts[0] else "".join(parts)
        if number:
            return phone_for(number, location="PID-13")
    return ""


def _patient(message: hl7.Message) -> PatientData:
    mrn, authority = _identifier(message, "PID.F3")
    born = value(message, "PID.F7.R1.C1")
    date_of_birth = None
    if born:
        if not TIMESTAMP.match(born):
            raise AdtError("PID-7", 102, "Bad date of birth in PID-7.")
        try:
            date_of_birth = hl7.parse_datetime(born).date()
        except (ValueError, TypeError):
            raise AdtError("PID-7", 102, "Bad date of birth in PID-7.") from None
    return PatientData(
        mrn=mrn,
        authority=authority,
        last_name=value(message, "PID.F5.R1.C1"),
        first_name=value(message, "PID.F5.R1.C2"),
        date_of_birth=date_of_birth,
        phone=_phone(message),
        language=language_for(value(message, "PID.F15.R1.C1")),
    )


def adt_data(message: hl7.Message, head: Header) -> AdtData:
    """What the message says, mapped; AdtError naming the field for what is missing or malformed."""
    patient = _patient(message)
    if not patient.mrn:
        raise AdtError("PID-3", 101, "Missing MRN in PID-3.")
    location_facility = value(message, "PV1.F3.R1.C4")
    facility = facility_for(
        location_facility or head.sending_facility, location="PV1-3" if location_facility else "MSH-4"
    )
    diagnosis = value(message, "DG1.F3.R1.C1") or value(message, "PV2.F3.R1.C1")
    visit = VisitData(
        visit_number=value(message, "PV1.F19.R1.C1"),
        facility=facility,
        admitted_at=timestamp(message, "PV1.F44.R1.C1"),
        discharged_at=timestamp(message, "PV1.F45.R1.C1"),
        disposition=value(message, "PV1.F36.R1.C1"),
        condition=condition_for(diagnosis),
    )
    event_at = (
        timestamp(message, "EVN.F6.R1.C1") or timestamp(message, "EVN.F2.R1.C1") or timestamp(message, "MSH.F7.R1.C1")
    )
    data = AdtData(event=head.event, patient=patient, visit=visit, event_at=event_at)
    if head.event == "A40":
        mrn, authority = _identifier(message, "MRG.F1")
        if not mrn:
            raise AdtError("MRG-1", 101, "Missing prior MRN in MRG-1.")
        data.prior = PatientData(mrn=mrn, authority=authority)
    return data


def ack(head: Header | None, code: str, *, text: str = "", error_code: int = 0, location: str = "") -> str:
    """The acknowledgement (original mode): MSA with the code and the message's control id; an AE or AR carries an
    ERR segment saying why (ERR-2 the location, ERR-3 table 0357's code, ERR-4 E, ERR-8 the words)."""
    now = timezone.now().strftime("%Y%m%d%H%M%S%z")
    sender_app = head.sending_application if head else ""
    sender_fac = head.sending_facility if head else ""
    event = head.event if head else ""
    version = head.version if head and head.version in SUPPORTED_VERSIONS else "2.5.1"
    control_id = head.control_id if head else ""
    clean = _escape(text)
    segments = [
        f"MSH|^~\\&|SEQUORA|SEQUORA|{_escape(sender_app)}|{_escape(sender_fac)}|{now}||ACK^{_escape(event)}^ACK|"
        f"{uuid.uuid4().hex[:20]}|P|{version}",
        f"MSA|{code}|{_escape(control_id)}|{clean}",
    ]
    if code != "AA":
        segment, _, field = location.partition("-")
        err_location = f"{segment}^1^{field}" if field else ""
        label = {101: "Required field missing", 102: "Data type error", 103: "Table value not found"}.get(
            error_code, "Application error"
        )
        segments.append(f"ERR||{err_location}|{error_code or 207}^{label}^HL70357|E||||{clean}")
    return "\r".join(segments) + "\r"


def _escape(text: str) -> str:
    """HL7's escapes for the delimiters, so that a value (an error's words) cannot break the segment."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
    return out.replace("~", "\\R\\").replace("\r", " ").replace("\n", " ")
