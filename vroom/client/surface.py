"""twilio-video.js's public surface, name by name: what the client SDK is measured against.

Taken from twilio-video.js 2.35's TypeScript definitions (``tsdef/Room.d.ts``, ``Participant.d.ts``,
``LocalParticipant.d.ts``, ``RemoteParticipant.d.ts``, ``TrackPublication.d.ts``,
``LocalTrackPublication.d.ts``, ``RemoteTrackPublication.d.ts``, ``Track.d.ts``, ``MediaTrack.d.ts``,
``VideoTrack.d.ts``, the six ``Local*Track.d.ts`` / ``Remote*Track.d.ts`` and ``types.d.ts``'s
``ConnectOptions``), with the members a class inherits listed on it; ``Room#transcription`` and
``LocalParticipant#setBandwidthProfile`` come from ``lib/room.js`` and ``lib/localparticipant.js``. The
connect options are the 21 of the reference's table (``twilio.md`` §6), the deprecated ``dscpTagging``,
``logLevel`` and ``eventListener`` aside. ``on``/``once``/``off`` (Node's EventEmitter) are not counted.

Names are JavaScript's: ``vroom_name`` turns a method or property into vroom's snake_case; event names
are kept as they are.
"""

from __future__ import annotations

import re

__all__ = ["SURFACE", "CONNECT_OPTIONS", "NOT_OFFERED", "vroom_name"]

_PARTICIPANT_PROPS = ("audioTracks", "dataTracks", "identity", "networkQualityLevel", "networkQualityStats", "sid",
                      "state", "tracks", "videoTracks")
_PARTICIPANT_EVENTS = ("disconnected", "networkQualityLevelChanged", "reconnected", "reconnecting",
                       "trackDimensionsChanged", "trackStarted")
_MEDIA_TRACK_PROPS = ("kind", "name", "isStarted", "isEnabled", "mediaStreamTrack")
_VIDEO_TRACK_PROPS = ("dimensions", "processor", "processedTrack")
_VIDEO_TRACK_METHODS = ("addProcessor", "removeProcessor")
_LOCAL_MEDIA = {"properties": ("id", "isMuted", "isStopped"),
                "methods": ("attach", "detach", "disable", "enable", "restart", "stop"),
                "events": ("disabled", "enabled", "muted", "started", "stopped", "unmuted")}
_PUBLICATION_PROPS = ("isEnabled", "kind", "trackName", "trackSid")

#: class -> {"properties", "methods", "events"}: twilio-video.js's names
SURFACE: dict[str, dict[str, tuple[str, ...]]] = {
    "Room": {
        "properties": ("dominantSpeaker", "isRecording", "localParticipant", "mediaRegion", "name", "participants",
                       "sid", "state"),
        "methods": ("disconnect", "getStats", "refreshInactiveMedia"),
        "events": ("disconnected", "dominantSpeakerChanged", "participantConnected", "participantDisconnected",
                   "participantReconnected", "participantReconnecting", "reconnected", "reconnecting",
                   "recordingStarted", "recordingStopped", "trackDimensionsChanged", "trackDisabled", "trackEnabled",
                   "trackMessage", "trackPublished", "trackPublishPriorityChanged", "trackStarted", "trackSubscribed",
                   "trackSubscriptionFailed", "trackSwitchedOff", "trackSwitchedOn", "trackUnpublished",
                   "trackUnsubscribed", "trackWarning", "trackWarningsCleared", "transcription"),
    },
    "LocalParticipant": {
        "properties": (*_PARTICIPANT_PROPS, "signalingRegion"),
        "methods": ("publishTrack", "publishTracks", "setBandwidthProfile", "setNetworkQualityConfiguration",
                    "setParameters", "unpublishTrack", "unpublishTracks"),
        "events": (*_PARTICIPANT_EVENTS, "trackDisabled", "trackEnabled", "trackPublicationFailed", "trackPublished",
                   "trackStopped", "trackWarning", "trackWarningsCleared"),
    },
    "RemoteParticipant": {
        "properties": _PARTICIPANT_PROPS,
        "methods": (),
        "events": (*_PARTICIPANT_EVENTS, "trackDisabled", "trackEnabled", "trackMessage", "trackPublished",
                   "trackPublishPriorityChanged", "trackSubscribed", "trackSubscriptionFailed", "trackSwitchedOff",
                   "trackSwitchedOn", "trackUnpublished", "trackUnsubscribed"),
    },
    "LocalTrackPublication": {
        "properties": (*_PUBLICATION_PROPS, "isTrackEnabled", "priority", "track"),
        "methods": ("setPriority", "unpublish"),
        "events": ("trackDisabled", "trackEnabled", "warning", "warningsCleared"),
    },
    "RemoteTrackPublication": {
        "properties": (*_PUBLICATION_PROPS, "isSubscribed", "isTrackEnabled", "publishPriority", "track"),
        "methods": (),
        "events": ("trackDisabled", "trackEnabled", "publishPriorityChanged", "subscribed", "subscriptionFailed",
                   "trackSwitchedOff", "trackSwitchedOn", "unsubscribed"),
    },
    "LocalAudioTrack": {
        "properties": (*_MEDIA_TRACK_PROPS, *_LOCAL_MEDIA["properties"], "noiseCancellation"),
        "methods": _LOCAL_MEDIA["methods"],
        "events": _LOCAL_MEDIA["events"],
    },
    "LocalVideoTrack": {
        "properties": (*_MEDIA_TRACK_PROPS, *_VIDEO_TRACK_PROPS, *_LOCAL_MEDIA["properties"]),
        "methods": (*_LOCAL_MEDIA["methods"], *_VIDEO_TRACK_METHODS),
        "events": (*_LOCAL_MEDIA["events"], "dimensionsChanged"),
    },
    "LocalDataTrack": {
        "properties": ("kind", "name", "id", "maxPacketLifeTime", "maxRetransmits", "ordered", "reliable"),
        "methods": ("send",),
        "events": (),
    },
    "RemoteAudioTrack": {
        "properties": (*_MEDIA_TRACK_PROPS, "sid", "priority", "isSwitchedOff"),
        "methods": ("attach", "detach", "setPriority"),
        "events": ("disabled", "enabled", "started", "switchedOff", "switchedOn"),
    },
    "RemoteVideoTrack": {
        "properties": (*_MEDIA_TRACK_PROPS, *_VIDEO_TRACK_PROPS, "sid", "priority", "isSwitchedOff"),
        "methods": ("attach", "detach", *_VIDEO_TRACK_METHODS, "setPriority", "switchOn", "switchOff",
                    "setContentPreferences"),
        "events": ("dimensionsChanged", "disabled", "enabled", "started", "stopped", "switchedOff", "switchedOn"),
    },
    "RemoteDataTrack": {
        "properties": ("kind", "name", "isEnabled", "isSubscribed", "maxPacketLifeTime", "maxRetransmits", "ordered",
                       "priority", "reliable", "sid"),
        "methods": ("setPriority",),
        "events": ("message", "switchedOff", "switchedOn"),
    },
}

#: twilio-video.js's ConnectOptions (reference/twilio.md §6: 21 of them)
CONNECT_OPTIONS = ("name", "audio", "video", "tracks", "automaticSubscription", "bandwidthProfile", "dominantSpeaker",
                   "networkQuality", "preferredVideoCodecs", "preferredAudioCodecs", "maxAudioBitrate",
                   "maxVideoBitrate", "region", "iceServers", "iceTransportPolicy", "rtcConfiguration", "enableDscp",
                   "insights", "notifyWarnings", "receiveTranscriptions", "loggerName")

#: (class, JS name) -> why vroom does not offer it (the docs table lists these)
NOT_OFFERED: dict[tuple[str, str], str] = {
    **{(cls, "mediaStreamTrack"): "there is no browser MediaStreamTrack: media are modelled as packets"
       for cls in ("LocalAudioTrack", "LocalVideoTrack", "RemoteAudioTrack", "RemoteVideoTrack")},
    ("LocalVideoTrack", "dimensionsChanged"): "the modelled camera never changes its capture size",
    ("LocalParticipant", "trackDimensionsChanged"): "it re-emits LocalVideoTrack's dimensionsChanged",
    **{(cls, event): "the modelled SFU switches off video only (the bandwidth profile allocates video)"
       for cls in ("RemoteAudioTrack", "RemoteDataTrack") for event in ("switchedOff", "switchedOn")},
    ("RemoteVideoTrack", "stopped"): "declared, but twilio-video.js emits it for local tracks only",
}


def vroom_name(js: str) -> str:
    """``setNetworkQualityConfiguration`` -> ``set_network_quality_configuration``; ``isEnabled`` ->
    ``is_enabled``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", js).lower()

