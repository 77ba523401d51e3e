"""The RTC diagnostics SDK's errors and warnings (``@twilio/rtc-diagnostics`` 1.0.x; twilio-products.md §3).

    Exception
    └── DiagnosticError          name (``ErrorName``), message, dom_error (the browser's exception name)

A test reports errors as ``error`` events and in its report's ``errors``; it never raises them. A device
fault reaches the test as the ``DOMException`` ``getUserMedia`` (or ``setSinkId``) throws, by name
(MDN, MediaDevices.getUserMedia, Exceptions): ``NotFoundError`` (no such device), ``NotAllowedError``
(permission denied), ``NotReadableError`` (the device is in use or failed).
"""

from __future__ import annotations

__all__ = ["DiagnosticError", "ERROR_NAMES", "WARNING_NAMES", "DOM_EXCEPTIONS"]

#: ``ErrorName`` (lib/constants.ts)
ERROR_NAMES = ("already-stopped", "diagnostic", "invalid-options", "invalid-state", "unsupported")
#: ``WarningName``
WARNING_NAMES = ("low-audio-level", "low-bitrate")
#: a device fault -> the DOMException the browser throws for it
DOM_EXCEPTIONS = {"not-found": "NotFoundError", "not-allowed": "NotAllowedError",
                  "not-readable": "NotReadableError"}


class DiagnosticError(Exception):
    """``DiagnosticError``: ``name`` one of ``ERROR_NAMES``, ``dom_error`` the DOMException's name (or None)."""

    def __init__(self, message: str, *, name: str = "diagnostic", dom_error: str | None = None,
                 timestamp_ms: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.dom_error = dom_error
        self.timestamp_ms = timestamp_ms

    def __repr__(self) -> str:
        dom = f", dom_error={self.dom_error!r}" if self.dom_error else ""
        return f"DiagnosticError({self.message!r}, name={self.name!r}{dom})"
