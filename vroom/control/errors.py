"""Twilio's error catalogue, as vroom raises it.

    Exception
    └── TwilioError              code, status (HTTP), message; `more_info` like Twilio's
        (raised by the control plane, the REST API, token checks and client connects)

Codes, names and messages are Twilio's (twilio-video.js ``twilio-video-errors.js``
and the Twilio error pages; see reference/twilio.md §4).
"""

from __future__ import annotations

from ..errors import TwilioError

__all__ = ["TwilioError", "CODES", "twilio_error", "MAX_MESSAGE"]

#: the longest error message vroom gives (Twilio's message, a colon and the detail); a longer detail is cut
MAX_MESSAGE = 480

#: code -> (name, message, HTTP status when it comes from the REST API)
CODES: dict[int, tuple[str, str, int]] = {
    20001: ("InvalidParameter", "Invalid parameter", 400),  # recordings, compositions, hooks and settings
    20003: ("AuthenticationError", "Authentication Error - invalid username", 401),
    20007: ("PageSizeTooLarge", "Page size too large", 400),  # twilio.com/docs/errors/20007: "maximum is 1000"
    20101: ("AccessTokenInvalidError", "Invalid Access Token", 401),
    20102: ("AccessTokenHeaderInvalidError", "Invalid Access Token header", 401),
    20103: ("AccessTokenIssuerInvalidError", "Invalid Access Token issuer/subject", 401),
    20104: ("AccessTokenExpiredError", "Access Token expired or expiration date invalid", 401),
    20105: ("AccessTokenNotYetValidError", "Access Token not yet valid", 401),
    20106: ("AccessTokenGrantsInvalidError", "Invalid Access Token grants", 401),
    20107: ("AccessTokenSignatureInvalidError", "Invalid Access Token signature", 401),
    20404: ("NotFound", "The requested resource was not found", 404),
    20429: ("TooManyRequests", "Too Many Requests", 429),
    53000: ("SignalingConnectionError", "Signaling connection error", 400),
    53001: ("SignalingConnectionDisconnectedError", "Signaling connection disconnected", 400),
    53002: ("SignalingConnectionTimeoutError", "Signaling connection timed out", 400),
    53100: ("RoomNameInvalidError", "Room name is invalid", 400),
    53101: ("RoomNameTooLongError", "Room name is too long", 400),
    53102: ("RoomNameCharsInvalidError", "Room name contains invalid characters", 400),
    53103: ("RoomCreateFailedError", "Unable to create Room", 400),
    53104: ("RoomConnectFailedError", "Unable to connect to Room", 400),
    53105: ("RoomMaxParticipantsExceededError", "Room contains too many Participants", 400),
    53106: ("RoomNotFoundError", "Room not found", 404),
    53107: ("RoomMaxParticipantsOutOfRangeError", "MaxParticipants is out of range", 400),
    53108: ("RoomTypeInvalidError", "RoomType is not valid", 400),
    53109: ("RoomTimeoutOutOfRangeError", "Timeout is out of range", 400),
    53110: ("RoomStatusCallbackMethodInvalidError", "StatusCallbackMethod is invalid", 400),
    53111: ("RoomStatusCallbackInvalidError", "StatusCallback is invalid", 400),
    53112: ("RoomStatusInvalidError", "Status is invalid", 400),
    53113: ("RoomRoomExistsError", "Room exists", 400),
    53114: ("RoomInvalidParametersError", "Room creation parameter(s) incompatible with the Room type", 400),
    53115: ("RoomMediaRegionInvalidError", "MediaRegion is invalid", 400),
    53116: ("RoomMediaRegionUnavailableError", "There are no media servers available in the MediaRegion", 400),
    53117: ("RoomSubscriptionOperationNotSupportedError",
            "The subscription operation requested is not supported for the Room type", 400),
    53118: ("RoomCompletedError", "Room completed", 400),
    53119: ("RoomConcurrencyQuotaExceeded", "The concurrent Rooms quota was exceeded", 429),
    53120: ("InvalidRecordingRules", "Invalid Recording Rule(s)", 400),
    53121: ("ConcurrencyQuotaWarning", "70% of a concurrency quota reached", 200),
    53124: ("RoomAudioOnlyFlagNotSupportedError", "The AudioOnly flag is not supported for the Room type", 400),
    53125: ("RoomTrackKindNotSupportedError", "The track kind is not supported by the Room", 400),
    53200: ("ParticipantIdentityInvalidError", "Participant identity is invalid", 400),
    53201: ("ParticipantIdentityTooLongError", "Participant identity is too long", 400),
    53202: ("ParticipantIdentityCharsInvalidError", "Participant identity contains invalid characters", 400),
    53203: ("ParticipantMaxTracksExceededError",
            "The maximum number of published tracks allowed in the Room at the same time has been reached", 400),
    53204: ("ParticipantNotFoundError", "Participant not found", 404),
    53205: ("ParticipantDuplicateIdentityError", "Participant disconnected because of duplicate identity", 400),
    53206: ("ParticipantConcurrencyQuotaExceeded", "The Participant concurrency quota was exceeded", 429),
    53209: ("ParticipantStatusInvalid", "Participant status is invalid", 400),
    53300: ("TrackInvalidError", "Track is invalid", 400),
    53301: ("TrackNameInvalidError", "Track name is invalid", 400),
    53302: ("TrackNameTooLongError", "Track name is too long", 400),
    53303: ("TrackNameCharsInvalidError", "Track name contains invalid characters", 400),
    53304: ("TrackNameIsDuplicatedError", "Track name is duplicated", 400),
    53404: ("MediaNoSupportedCodecError", "No supported codec", 400),
    53405: ("MediaConnectionError", "Media connection failed or Media activity ceased", 400),
}


def twilio_error(code: int, detail: str | None = None, *, status: int | None = None) -> TwilioError:
    """A TwilioError with Twilio's message for ``code`` (and what exactly was wrong), at most MAX_MESSAGE long."""
    name, message, http = CODES.get(code, ("TwilioError", "Unknown error", 400))
    text = f"{message}: {detail}" if detail else message
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 1] + "…"
    err = TwilioError(code, text, status or http)
    err.name = name  # type: ignore[attr-defined]
    return err
