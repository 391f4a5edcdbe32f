"""Serve only requests signed with the endpoint's secret key, checked as AWS checks SigV4.

Binding 127.0.0.1 keeps other machines out, not the other accounts of this one: any local user
could create a Lambda function or a Glue job here and have the endpoint run it as the
developer. So each endpoint makes up a secret key when it starts, hands it to the processes
that should call it (its own children, and the tools through its state file, 0600), and
checks every request's AWS Signature Version 4 against it.

The signature is computed again from the request as it arrived (method, raw path and query,
the headers the client signed, the body's SHA-256) with botocore's own signer, and compared in
constant time. S3 clients sign the hash they send in ``x-amz-content-sha256``: a hex value
must equal the body's hash; ``UNSIGNED-PAYLOAD`` and the streaming forms are signed as sent,
as S3 does (botocore signs the body over plain HTTP). Refused: a key id the endpoint does not
hand out, a signature that does not match, anything unsigned (moto's ``/moto-api/`` dashboard
included) and presigned URLs, which nothing here uses.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import EnvironHeaders
from werkzeug.wsgi import get_input_stream

from local.endpoint.http import aws_errors
from local.endpoint.http.aws_errors import Reason

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;_.-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
# Query-string authentication: SigV4's and the older SigV2 (boto3's S3 presigned URLs).
_PRESIGNED_PARAMS = {"X-Amz-Signature", "X-Amz-Credential", "Signature", "AWSAccessKeyId"}
KEY_HINT = "the local AWS endpoint's key is in endpoint.json in its work folder"


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    service: str | None  # the signing name the client used, when it signed
    detail: str


def refusal(
    environ: Mapping[str, Any], body: bytes, secret_key: str, access_keys: frozenset[str]
) -> Refusal | None:
    """Why this request must not be served, or None if it is signed with the endpoint's key."""
    if _PRESIGNED_PARAMS & set(parse_qs(environ.get("QUERY_STRING", ""), True)):
        detail = "presigned URLs are not supported by the local AWS endpoint: sign the headers"
        return Refusal(aws_errors.UNSIGNED, None, detail)
    match = _AUTHORIZATION.fullmatch(environ.get("HTTP_AUTHORIZATION", "").strip())
    if match is None:
        detail = f"only AWS Signature Version 4 is accepted; {KEY_HINT}"
        return Refusal(aws_errors.UNSIGNED, None, detail)
    service = match["service"]
    if match["key"] not in access_keys:
        return Refusal(aws_errors.UNKNOWN_KEY, service, f"{match['key']!r}: {KEY_HINT}")
    headers = EnvironHeaders(environ)
    content_hash = headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(content_hash) and content_hash != hashlib.sha256(body).hexdigest():
        return Refusal(aws_errors.BODY_HASH, service, "the body is not the one signed")
    expected = expected_signature(environ, headers, body, match, secret_key)
    if not hmac.compare_digest(expected, match["signature"]):
        return Refusal(aws_errors.BAD_SIGNATURE, service, KEY_HINT)
    return None


def expected_signature(
    environ: Mapping[str, Any],
    headers: EnvironHeaders,
    body: bytes,
    match: re.Match[str],
    secret_key: str,
) -> str:
    """The signature botocore gives this request with the endpoint's key ("" if it cannot)."""
    signed = match["headers"].split(";")
    raw_uri = environ.get("RAW_URI") or _rebuilt_uri(environ)
    request = AWSRequest(
        method=environ["REQUEST_METHOD"],
        url=f"http://{headers.get('host', '')}{raw_uri}",
        data=body,
        headers={name: headers.get(name, "") for name in signed},
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    auth = signer(Credentials(match["key"], secret_key), match["service"], match["region"])
    if auth.signed_headers(auth.headers_to_sign(request)) != match["headers"]:
        return ""  # headers botocore never signs: not a request one of our clients made
    canonical = auth.canonical_request(request)
    return str(auth.signature(auth.string_to_sign(request, canonical), request))


def _rebuilt_uri(environ: Mapping[str, Any]) -> str:
    path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/~!$&'()*+,;=:@")
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


class SignatureCheck:
    """WSGI middleware in front of moto's app: refuses what ``refusal`` refuses, in the
    protocol of the request (``aws_errors``)."""

    def __init__(self, app: WsgiApp, secret_key: str, access_keys: frozenset[str]) -> None:
        self._app = app
        self._secret_key = secret_key
        self._access_keys = access_keys

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        environ["CONTENT_LENGTH"] = str(len(body))
        refused = refusal(environ, body, self._secret_key, self._access_keys)
        if refused is None:
            return self._app(environ, start_response)
        protocol = aws_errors.protocol_of(environ, refused.service)
        status, headers, text = aws_errors.render(refused.reason, protocol, refused.detail)
        start_response(status, headers)
        return [text]
