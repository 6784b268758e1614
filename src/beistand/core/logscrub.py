"""No secret in any log line (issue 16 follow-up, attack 12).

Tokens reached the logs inside exception tracebacks (an exception message or a request path
that quoted them) and, with ``BEISTAND_DEBUG=true``, through Django's own console handler.
``ScrubSecrets`` is a logging filter installed in the one ``LOGGING`` setting on every handler
(and Django's loggers are routed to those handlers, so no handler of Django's own remains). It
rewrites each record before any formatter sees it:

* the message (``msg`` with its ``args``, rendered once), the exception text (the traceback is
  formatted here and the scrubbed text stored in ``exc_text``, which every formatter prints
  instead of formatting ``exc_info`` again), ``stack_info``, and string values passed with
  ``extra=``;
* what is scrubbed: bearer tokens (``bst_…``, ``bsd_…``, ``beistand.bearer.…``,
  ``Authorization: Bearer …``, ``Basic …``), SMS signatures (``sha256=<hex>``), and the values
  of known secret parameters in query strings, form bodies, JSON and ``key=value`` text
  (``token``, ``password``, ``secret``, ``signature``, ``sessionid``, ``csrftoken``, ``auth``,
  ``p256dh``, ``otp``, …).

A scrubbed value reads ``[entfernt]``; the kind of token stays visible (``bst_[entfernt]``).
"""

import logging
import re
import traceback

REDACTED = "[entfernt]"
SECRET_NAMES = ("token", "access_token", "refresh_token", "id_token", "password", "passwort",
                "secret", "client_secret", "signature", "sig", "sessionid", "csrftoken",
                "csrfmiddlewaretoken", "auth", "p256dh", "otp", "otp_token", "api_key", "apikey",
                "ticket")

_PATTERNS = [
    # Bearer tokens of beistand: person and device tokens, the WebSocket subprotocol.
    (re.compile(r"\b(bs[td]_)[A-Za-z0-9_\-]{4,}"), r"\1" + REDACTED),
    (re.compile(r"(beistand\.bearer\.)[A-Za-z0-9_\-.]{4,}"), r"\1" + REDACTED),
    # The one-time answer link of an alarm SMS (/a/<token>): the token is the credential.
    (re.compile(r"(/a/)[A-Za-z0-9_\-]{12,}"), r"\1" + REDACTED),
    # Authorization headers, whatever the token looks like.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9_\-.~+/=]{8,}"), r"\1 " + REDACTED),
    # SMS (and other HMAC) signatures.
    (re.compile(r"(?i)\b(sha(?:1|256|512)=)[0-9a-f]{16,}"), r"\1" + REDACTED),
    # name=value (query strings, form bodies, log text) and "name": "value" (JSON, repr).
    (re.compile(r"(?i)(?<![A-Za-z0-9_])(" + "|".join(SECRET_NAMES)
                + r")(=|%3D)([^&\s'\";,)\]}]+)"), r"\1\2" + REDACTED),
    (re.compile(r"(?i)([\"'](?:" + "|".join(SECRET_NAMES)
                + r")[\"']\s*:\s*[\"'])([^\"']+)"), r"\1" + REDACTED),
]


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ScrubSecrets(logging.Filter):
    """Logging filter: every record leaves without secrets (see the module text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and isinstance(record.msg, str):
            # Keep the arguments as arguments: formatters such as uvicorn's access log unpack
            # them (client, method, path, version, status); each is scrubbed on its own.
            record.msg = scrub(record.msg)
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict) and isinstance(record.msg, str):
            record.msg = scrub(record.msg)
            record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in args.items()}
        else:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: keep what there is, scrubbed
                message = str(record.msg)
            record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info))
                                    .rstrip("\n"))
            # The text stands for the exception from here on: formatters print exc_text, and
            # nobody formats the original (with its unscrubbed message) again.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if isinstance(value, str) and name not in ("msg", "exc_text", "stack_info") and \
                    name not in _PLAIN:
                setattr(record, name, scrub(value))
        return True


# Attributes of every record that never carry secrets (names, levels, file paths).
_PLAIN = {"name", "levelname", "pathname", "filename", "module", "funcName", "threadName",
          "processName", "taskName", "asctime"}
