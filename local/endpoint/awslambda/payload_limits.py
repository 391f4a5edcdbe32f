"""Lambda's synchronous invocation payload quota, as the Invoke API applies it (patches moto's
``LambdaResponse.invoke``).

AWS allows 6 MB each way for a ``RequestResponse`` invoke: a larger request is refused with
413 ``RequestEntityTooLargeException`` before the function runs, and a larger result becomes
an ``Unhandled`` function error of type ``Function.ResponseSizeTooLarge`` (status 200). The
two limits differ by 100 bytes, as on AWS. moto 5.2.5 checks neither request, and compares
``sys.getsizeof`` of the response with 6,000,000, which refused results AWS returns.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.awslambda.responses import LambdaResponse
from moto.utilities.aws_headers import amz_crc32

from local.endpoint.patching import Patcher

REQUEST_LIMIT_BYTES = 6_291_456
RESPONSE_LIMIT_BYTES = 6_291_556
SYNCHRONOUS = "RequestResponse"
TOO_LARGE_REQUEST = (
    f"Request must be smaller than {REQUEST_LIMIT_BYTES} bytes for the InvokeFunction operation"
)
TOO_LARGE_RESPONSE = (
    f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes)."
)
STATUS_BY_TYPE = {"Event": 202, "DryRun": 204}


def response_too_large(payload: bytes) -> bytes | None:
    """The function error AWS returns instead of ``payload``, or None if it fits."""
    if len(payload) <= RESPONSE_LIMIT_BYTES:
        return None
    error = {"errorMessage": TOO_LARGE_RESPONSE, "errorType": "Function.ResponseSizeTooLarge"}
    return json.dumps(error).encode()


@amz_crc32
def _invoke(self: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
    """Replacement for ``LambdaResponse.invoke``: moto's, with AWS's request limit and without
    its own response check (``awslambda/invoke.py`` applies AWS's)."""
    invocation_type = self.headers.get("X-Amz-Invocation-Type") or SYNCHRONOUS
    if invocation_type == SYNCHRONOUS and len(self.raw_body or b"") > REQUEST_LIMIT_BYTES:
        body = json.dumps({"Type": "User", "message": TOO_LARGE_REQUEST})
        headers = {
            "x-amzn-ErrorType": "RequestEntityTooLargeException",
            "content-type": "application/json",
            "status": "413",  # moto takes the status from here, not from the tuple
        }
        return 413, headers, body
    response_headers: dict[str, Any] = {}
    function_name = unquote(self.path.rsplit("/", 2)[-2])  # an ARN arrives URL-encoded
    payload = self.backend.invoke(
        function_name,
        self._get_param("qualifier"),
        self.body,
        self.headers,
        response_headers,
    )
    if payload is None:
        return 404, response_headers, "{}"
    response_headers["content-type"] = "application/json"
    status = STATUS_BY_TYPE.get(invocation_type, 200)
    if status != 200:
        response_headers["status"] = str(status)
    elif self.headers.get("X-Amz-Log-Type") != "Tail":
        response_headers.pop("x-amz-log-result", None)
    return status, response_headers, payload


def install(patcher: Patcher) -> None:
    patcher.setattr(LambdaResponse, "invoke", _invoke)
