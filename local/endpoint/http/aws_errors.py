"""The errors AWS answers a badly authenticated request with, in the protocol of the request.

SDKs read an error's code from where their service's protocol puts it, so the same refusal is
rendered four ways: S3's XML, the query services' XML (IAM, STS, SNS), JSON (Glue, Logs, SQS,
Lambda) and CloudWatch's CBOR (Smithy RPC v2). The codes differ by protocol as they do on
AWS: a key the service does not know is ``InvalidClientTokenId`` to a query service,
``UnrecognizedClientException`` to a JSON one and ``InvalidAccessKeyId`` to S3.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape


class Protocol(Enum):
    S3 = "s3"
    QUERY = "query"
    JSON = "json"
    CBOR = "cbor"


@dataclass(frozen=True)
class Reason:
    """One kind of refusal: its code per protocol, AWS's message and the HTTP status."""

    query_code: str
    json_code: str
    s3_code: str
    message: str
    s3_message: str | None = None
    status: int = 403
    s3_status: int = 403

    def code(self, protocol: Protocol) -> str:
        if protocol is Protocol.S3:
            return self.s3_code
        return self.query_code if protocol is Protocol.QUERY else self.json_code


SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = Reason(
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "The security token included in the request is invalid.",
    "The AWS Access Key Id you provided does not exist in our records.",
)
BAD_SIGNATURE = Reason(
    "SignatureDoesNotMatch", "InvalidSignatureException", "SignatureDoesNotMatch", SIGNATURE_MESSAGE
)
UNSIGNED = Reason(
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AccessDenied",
    "Request is missing Authentication Token",
    "Access Denied",
)
BODY_HASH = Reason(
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "XAmzContentSHA256Mismatch",
    SIGNATURE_MESSAGE,
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
    s3_status=400,
)
STATUS_LINES = {400: "400 Bad Request", 403: "403 Forbidden"}
REST_JSON_SERVICES = {"lambda"}


def protocol_of(environ: Mapping[str, Any], service: str | None) -> Protocol:
    """The protocol the client will parse the answer with (``service``: the signing name)."""
    if service == "s3":
        return Protocol.S3
    if environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor":
        return Protocol.CBOR
    if (
        "HTTP_X_AMZ_TARGET" in environ
        or "json" in environ.get("CONTENT_TYPE", "")
        or service in REST_JSON_SERVICES
    ):
        return Protocol.JSON
    if service is not None or "Action=" in environ.get("QUERY_STRING", ""):
        return Protocol.QUERY
    form = "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "")
    return Protocol.QUERY if form else Protocol.S3  # unsigned: S3 is the REST API left


def render(
    reason: Reason, protocol: Protocol, detail: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the error; ``detail`` follows AWS's own message."""
    request_id = str(uuid.uuid4())
    code = reason.code(protocol)
    status = reason.s3_status if protocol is Protocol.S3 else reason.status
    message = (reason.s3_message if protocol is Protocol.S3 else None) or reason.message
    message = f"{message} ({detail})" if detail else message
    headers = [("x-amzn-RequestId", request_id)]
    if protocol is Protocol.JSON:
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol is Protocol.CBOR:
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        body = _cbor_text_map({"__type": code, "message": message})
    elif protocol is Protocol.QUERY:
        headers.append(("Content-Type", "text/xml"))
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    else:
        headers.append(("Content-Type", "application/xml"))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    headers.append(("Content-Length", str(len(body))))
    return STATUS_LINES[status], headers, body


def _cbor_text_map(items: Mapping[str, str]) -> bytes:
    """A CBOR map of text to text (RFC 8949), all an RPC v2 error body needs."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        if length < 1 << 8:
            return bytes([major << 5 | 24, length])
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")

    def text(value: str) -> bytes:
        data = value.encode()
        return head(3, len(data)) + data

    return head(5, len(items)) + b"".join(text(k) + text(v) for k, v in items.items())
