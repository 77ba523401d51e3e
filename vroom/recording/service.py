"""The recording service of a Simulation: which tracks record, their capture, files, uploads, callbacks.

Theory of operation. The control plane decides (``control.recordings.is_recorded``:
``record_participants_on_connect`` and the Recording Rules); the Simulation
asks this service to bring a room in line whenever that could change (a
track published, rules updated) and tells it when a track ends. A track that
starts being recorded gets a Recording (RT…, ``processing``, the
``recording-started`` callback) and a capture: from then on the engine hands
over, a batch at a time, the packets of recorded tracks that reached the SFU
(``observe``; the engine calls it only while something records, so plain
runs never pay for it). When the recording stops (the track ends, the rules
exclude it, the participant leaves, the room ends), its file is written at
once (``recorder.write_track``), then uploaded if the account stores media on
S3, and the recording becomes ``completed`` (or ``failed``, with
``FailedOperation``), with its callback.

Compositions are queued (``enqueued``) and run at the next event of the same
instant: the composer writes the file right away; the model then takes
``COMPOSE_SPEEDUP``-times-faster-than-real-time simulated time to report
progress about every 10 % and to make it available.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import events as ev
from ..backoff import Backoff
from ..control.recordings import CompositionRecord, RecordingRecord, is_recorded, selected
from ..control.records import iso8601_ms
from ..media.rtp import FLAG_PADDING
from . import import_av
from .recorder import CONTAINERS, TrackCapture, write_track
from .storage import LocalStorage

if TYPE_CHECKING:
    from ..control.cloud import Cloud
    from ..control.recordings import CompositionHookRecord, StorageSettings
    from ..control.records import RoomRecord, TrackRecord
    from ..participant import Publication
    from ..ports import RecorderPort

__all__ = ["RecordingService", "COMPOSE_SPEEDUP", "MAX_UPLOAD_ATTEMPTS"]

#: Model choice: a composition of D seconds is available D / 20 after it starts (at least 1 s).
COMPOSE_SPEEDUP = 20
#: Uploads are tried this many times, spaced by vroom.backoff (1 s doubling, at most 30 s, jitter 0.5).
MAX_UPLOAD_ATTEMPTS = 5


class RecordingService:
    """Recordings and compositions of every account of one Simulation."""

    def __init__(self, model: "RecorderPort", root: Path | None = None) -> None:
        self.model = model
        self._root = None if root is None else Path(root)
        self.active: dict[str, tuple[RecordingRecord, TrackCapture, "Publication"]] = {}  # by track SID
        self._capture_of_track: list[TrackCapture | None] = []  # by SFU track index
        self._slot = np.zeros(0, dtype=bool)  # SFU track index -> recorded now

    # -- where files go ---------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The local media folder (a fresh temporary folder unless the Simulation was given one)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="vroom-media-"))
        return self._root

    @property
    def folder(self) -> Path | None:
        """The local media folder if one was given or made (None: nothing was written yet)."""
        return self._root

    def _local(self, account_sid: str, room_sid: str, name: str) -> Path:
        return LocalStorage(self.root).path(account_sid, room_sid, name)

    # -- which tracks record ----------------------------------------------------------
    def update_room(self, room: "RoomRecord") -> None:
        """Start or stop recordings so that the room's rules hold from now on."""
        for p in room.connected:
            driver = self.model.directory.participant(p.sid)
            if driver is None or driver.cloud is None:
                continue
            for pub in driver.publications:
                if not pub.published:
                    continue
                want = is_recorded(room, pub.record)
                have = pub.record.sid in self.active
                if want and not have:
                    self._start(driver.cloud, room, pub)
                elif have and not want:
                    self.stop(pub.record)

    def _start(self, cloud: "Cloud", room: "RoomRecord", pub: "Publication") -> None:
        model = self.model
        now = model.now_us
        track = pub.record
        rec = RecordingRecord(sid=model.new_sid("RT"), account_sid=cloud.account_sid, room=room,
                              participant=track.participant, track=track, created_us=now,
                              room_epoch_s=cloud.epoch + room.created_us / 1e6)
        cloud.recordings[rec.sid] = rec
        capture = TrackCapture()
        self.active[track.sid] = (rec, capture, pub)
        index = pub.track
        if index >= len(self._capture_of_track):
            grow = index + 1 - len(self._capture_of_track)
            self._capture_of_track.extend([None] * grow)
            self._slot = np.concatenate([self._slot, np.zeros(grow, dtype=bool)])
        self._capture_of_track[index] = capture
        self._slot[index] = True
        model.set_packet_observer(self)
        model.trace.record(now, "recording-started", recording_sid=rec.sid, room_sid=room.sid, track_sid=track.sid,
                           identity=track.participant.identity, track=track.name)
        self._recording_callback(cloud, rec, "recording-started")
        self._announce(room)

    def stop(self, track: "TrackRecord") -> None:
        """The track's recording ends now: write its file, then upload or complete it."""
        entry = self.active.pop(track.sid, None)
        if entry is None:
            return
        rec, capture, pub = entry
        self._capture_of_track[pub.track] = None
        self._slot[pub.track] = False
        if not self.active:
            self.model.set_packet_observer(None)  # nothing records: the engine stops calling us
        model = self.model
        rec.ended_us = model.now_us
        cloud = self._cloud_of(rec)
        self._write(cloud, rec, capture, pub)
        self._announce(rec.room)

    def _announce(self, room: "RoomRecord") -> None:
        """Clients see ``room.isRecording`` and get recordingStarted / recordingStopped."""
        recording = any(r.room is room for r, _, _ in self.active.values())
        self.model.events.post(ev.RecordingStarted(room) if recording else ev.RecordingStopped(room))

    def _cloud_of(self, rec: RecordingRecord) -> "Cloud":
        return next(c for c in self.model.accounts if c.account_sid == rec.account_sid)

    # -- the engine's side ------------------------------------------------------------
    def observe(self, batch: dict[str, np.ndarray]) -> None:
        """A batch of packets that reached the SFU (engine order): keep those of recorded tracks."""
        b = batch
        track = b["track"]
        slot = self._slot
        keep = (track < len(slot)) & (b["target"] < 0) & ((b["flags"] & FLAG_PADDING) == 0)
        if not keep.any():
            return
        keep[keep] = slot[track[keep]]
        if not keep.any():
            return
        rows = np.flatnonzero(keep)
        tracks = track[rows]
        for index in np.unique(tracks).tolist():
            mine = rows[tracks == index]
            capture = self._capture_of_track[index]
            if capture is not None:
                capture.add({k: v[mine] for k, v in b.items()})

    def observe_one(self, packet: dict[str, int]) -> None:
        """One packet that reached the SFU (the reference engine)."""
        self.observe({k: np.array([v], dtype=np.int64) for k, v in packet.items() if k != "out_seq"})

    # -- files ------------------------------------------------------------------------------
    def _write(self, cloud: "Cloud", rec: RecordingRecord, capture: TrackCapture, pub: "Publication") -> None:
        model = self.model
        room = rec.room
        source = pub.source
        spec: Any = getattr(source, "spec", None)
        kind = rec.kind
        path = self._local(cloud.account_sid, room.sid, f"{rec.sid}.{CONTAINERS[kind]}")
        options: dict[str, Any] = {}
        if kind == "video":
            rec.width, rec.height = spec.width & ~1, spec.height & ~1
            options.update(width=spec.width, height=spec.height, fps=spec.fps, screen=spec.screen,
                           content_change_us=round(spec.content_change_s * 1e6))
        try:
            info = write_track(path, kind, capture.columns(), identity=rec.participant.identity, track=rec.track.name,
                               room_start_us=room.created_us, stop_us=model.now_us,
                               bitrate_bps=getattr(spec, "bitrate_bps", 32_000),
                               rng=model.streams.stream(f"recording/{rec.sid}/noise"), **options)
        except Exception as exc:  # PyAV missing, an encoder refusing: the recording fails, loudly
            self._fail_recording(cloud, rec, "RecordingComplete", f"{type(exc).__name__}: {exc}")
            return
        rec.path, rec.size, rec.frames = info.path, info.size, info.frames
        rec.start_ms, rec.duration_ms = info.start_ms, info.duration_ms
        settings = cloud.recording_settings
        if settings.aws_storage_enabled:
            self._upload(cloud, settings, room.sid, path, rec,
                         done=lambda url: self._complete_recording(cloud, rec, url),
                         failed=lambda why: self._fail_recording(cloud, rec, "RecordingUpload", why),
                         backoff=Backoff(min="1s", max="30s", factor=2, jitter=0.5,
                                         rng=model.streams.stream(f"recording/{rec.sid}/upload")))
        else:
            self._complete_recording(cloud, rec, None)

    def _upload(self, cloud: "Cloud", settings: "StorageSettings", room_sid: str, path: Path, what: Any, *,
                done: Any, failed: Any, backoff: Backoff) -> None:
        from .storage import parse_s3_url, upload

        model = self.model
        target = parse_s3_url(settings.aws_s3_url)
        key = target.key(room_sid, path.name)
        credentials = cloud.aws_credentials.get(settings.aws_credentials_sid or "")
        what.uploads += 1
        try:
            upload(target, key, path, credentials)
        except Exception as exc:  # any failure of the store: retried, then reported
            why = f"{type(exc).__name__}: {exc}"
            model.trace.record(model.now_us, "media-upload", sid=what.sid, attempt=what.uploads, outcome="failed")
            if what.uploads >= MAX_UPLOAD_ATTEMPTS:
                failed(why)
            else:
                model.schedule(model.now_us + backoff.next_delay_us(),
                               lambda: self._upload(cloud, settings, room_sid, path, what, done=done, failed=failed,
                                                    backoff=backoff))
            return
        model.trace.record(model.now_us, "media-upload", sid=what.sid, attempt=what.uploads, outcome="uploaded")
        done(target.url(key))

    def _complete_recording(self, cloud: "Cloud", rec: RecordingRecord, external: str | None) -> None:
        rec.status = "completed"
        rec.media_external_location = external
        self.model.trace.record(self.model.now_us, "recording-completed", recording_sid=rec.sid, frames=rec.frames,
                                duration_ms=rec.duration_ms)
        self._recording_callback(cloud, rec, "recording-completed")

    def _fail_recording(self, cloud: "Cloud", rec: RecordingRecord, operation: str, why: str) -> None:
        rec.status = "failed"
        rec.failed_operation = operation
        rec.error = why
        self.model.trace.record(self.model.now_us, "recording-failed", recording_sid=rec.sid,
                                failed_operation=operation, error=why)
        self._recording_callback(cloud, rec, "recording-failed")

    def _recording_callback(self, cloud: "Cloud", rec: RecordingRecord, event: str) -> None:
        """reference/twilio.md §2, recording callback fields."""
        room = rec.room
        if not room.status_callback:
            return
        form = {"AccountSid": cloud.account_sid, "RecordingSid": rec.sid,
                "Timestamp": iso8601_ms(cloud.timestamp()), "StatusCallbackEvent": event, "RoomSid": room.sid,
                "RoomName": room.unique_name, "RoomType": room.type, "ParticipantSid": rec.participant.sid,
                "SourceSid": rec.track.sid, "RecordingUri": f"/v1/Recordings/{rec.sid}",
                "Container": rec.container_format, "Codec": rec.codec, "ParticipantIdentity": rec.participant.identity,
                "TrackName": rec.track.name, "OffsetFromTwilioVideoEpoch": str(rec.offset_ms), "Type": rec.kind}
        if event == "recording-completed":
            form.update(MediaUri=f"/v1/Recordings/{rec.sid}/Media", Duration=str(rec.duration_s), Size=str(rec.size),
                        MediaExternalLocation=rec.media_external_location or "")
        if event == "recording-failed":
            form["FailedOperation"] = rec.failed_operation or ""
        cloud.webhooks.send(room.status_callback, room.status_callback_method, form)

    # -- compositions -----------------------------------------------------------------------
    def enqueue(self, cloud: "Cloud", room: "RoomRecord", params: dict[str, Any], callback: str | None,
                method: str, hook: "CompositionHookRecord | None" = None) -> CompositionRecord:
        """A new composition of ``room``: ``enqueued`` now, composed at the next event of this instant."""
        model = self.model
        comp = CompositionRecord(sid=model.new_sid("CJ"), account_sid=cloud.account_sid, room=room, params=params,
                                 created_us=model.now_us, status_callback=callback, status_callback_method=method,
                                 hook=hook)
        cloud.compositions[comp.sid] = comp
        model.trace.record(model.now_us, "composition-enqueued", composition_sid=comp.sid, room_sid=room.sid,
                           hook_sid=None if hook is None else hook.sid)
        if hook is not None:
            self._composition_callback(cloud, comp, "composition-enqueued")
        model.schedule(model.now_us, lambda: self._compose(cloud, comp), later=True)
        return comp

    def room_ended(self, cloud: "Cloud", room: "RoomRecord") -> None:
        """Every enabled Composition Hook composes a completed group room that has recordings."""
        hooks = [h for h in cloud.composition_hooks.values() if h.enabled]
        if not hooks or room.type in ("go", "peer-to-peer"):
            return
        has_media = any(r.room is room for r in cloud.recordings.values())
        for hook in hooks:
            if has_media:
                self.enqueue(cloud, room, hook.params, hook.status_callback, hook.status_callback_method, hook)
            elif hook.status_callback:
                cloud.webhooks.send(hook.status_callback, hook.status_callback_method, {
                    "AccountSid": cloud.account_sid, "RoomSid": room.sid,
                    "StatusCallbackEvent": "composition-hook-failed", "Timestamp": iso8601_ms(cloud.timestamp()),
                    "HookSid": hook.sid, "HookUri": f"/v1/CompositionHooks/{hook.sid}",
                    "HookFriendlyName": hook.friendly_name, "FailedOperation": "CompositionCreate",
                    "ErrorMessage": "the room has no recordings"})

    def sources(self, cloud: "Cloud", room: "RoomRecord") -> list[RecordingRecord]:
        """The room's recordings whose media is on local disk, in creation order."""
        return [r for r in cloud.recordings.values() if r.room is room and r.path is not None and r.status != "deleted"
                and r.path.exists()]

    def _compose(self, cloud: "Cloud", comp: CompositionRecord) -> None:
        from .composer import Region, Source, compose

        model = self.model
        if comp.status != "enqueued":
            return  # deleted while queued
        comp.status = "processing"
        model.trace.record(model.now_us, "composition-started", composition_sid=comp.sid)
        self._composition_callback(cloud, comp, "composition-started")
        p = comp.params
        room = comp.room
        recordings = self.sources(cloud, room)

        def source(r: RecordingRecord) -> Source:
            return Source(r.sid, r.track.name, r.kind, r.path, r.start_ms, r.start_ms + r.duration_ms,  # type: ignore[arg-type]
                          r.width, r.height)

        regions = []
        for name, region in p["video_layout"].items():
            chosen = [source(r) for r in recordings if r.kind == "video"
                      and selected(region["video_sources"], region["video_sources_excluded"], r.track.name, r.sid)]
            regions.append(Region(name, chosen, region["x_pos"], region["y_pos"], region["z_pos"], region["width"],
                                  region["height"], region["max_columns"] or None, region["max_rows"] or None,
                                  region["cells_excluded"], region["reuse"]))
        audio = [source(r) for r in recordings if r.kind == "audio"
                 and selected(p["audio_sources"], p["audio_sources_excluded"], r.track.name, r.sid)]
        width, height = (int(x) for x in p["resolution"].split("x"))
        end_us = room.end_us if room.end_us is not None else model.now_us
        path = self._local(cloud.account_sid, room.sid, f"{comp.sid}.{p['format']}")
        try:
            import_av()  # without PyAV no recording was written: say that, not "no recording matches"
            if not audio and not any(r.sources for r in regions):
                raise ValueError("no recording of the room matches the composition's sources")
            info = compose(path, fmt=p["format"], width=width & ~1, height=height & ~1, regions=regions, audio=audio,
                           end_ms=(end_us - room.created_us) // 1000, trim=p["trim"])
        except Exception as exc:  # no sources, PyAV missing, an encoder refusing: the composition fails
            self._fail_composition(cloud, comp, "CompositionProcessing", f"{type(exc).__name__}: {exc}")
            return
        comp.path, comp.size, comp.duration_ms, comp.frames = info.path, info.size, info.duration_ms, info.frames
        span = max(1_000_000, info.duration_ms * 1000 // COMPOSE_SPEEDUP)
        start = model.now_us
        for tenth in range(1, 10):
            model.schedule(start + span * tenth // 10,
                           lambda tenth=tenth: self._progress(cloud, comp, tenth * 10, (span - span * tenth // 10)))
        model.schedule(start + span, lambda: self._finish_composition(cloud, comp))

    def _progress(self, cloud: "Cloud", comp: CompositionRecord, percent: int, remaining_us: int) -> None:
        if comp.status == "processing":
            self._composition_callback(cloud, comp, "composition-progress", PercentageDone=str(percent),
                                       SecondsRemaining=str(-(-remaining_us // 1_000_000)))

    def _finish_composition(self, cloud: "Cloud", comp: CompositionRecord) -> None:
        if comp.status != "processing":
            return
        settings = cloud.composition_settings
        if settings.aws_storage_enabled and comp.path is not None:
            self._upload(cloud, settings, comp.room.sid, comp.path, comp,
                         done=lambda url: self._available(cloud, comp, url),
                         failed=lambda why: self._fail_composition(cloud, comp, "CompositionUpload", why),
                         backoff=Backoff(min="1s", max="30s", factor=2, jitter=0.5,
                                         rng=self.model.streams.stream(f"composition/{comp.sid}/upload")))
        else:
            self._available(cloud, comp, None)

    def _available(self, cloud: "Cloud", comp: CompositionRecord, external: str | None) -> None:
        model = self.model
        comp.status = "completed"
        comp.completed_us = model.now_us
        comp.media_external_location = external
        model.trace.record(model.now_us, "composition-available", composition_sid=comp.sid, frames=comp.frames,
                           duration_ms=comp.duration_ms)
        self._composition_callback(cloud, comp, "composition-available", MediaUri=f"/v1/Compositions/{comp.sid}/Media",
                                   Duration=str(comp.duration_s), Size=str(comp.size),
                                   MediaExternalLocation=external or "")

    def _fail_composition(self, cloud: "Cloud", comp: CompositionRecord, operation: str, why: str) -> None:
        comp.status = "failed"
        comp.error = why
        self.model.trace.record(self.model.now_us, "composition-failed", composition_sid=comp.sid,
                                failed_operation=operation, error=why)
        self._composition_callback(cloud, comp, "composition-failed", FailedOperation=operation, ErrorMessage=why)

    def _composition_callback(self, cloud: "Cloud", comp: CompositionRecord, event: str, **extra: str) -> None:
        """reference/twilio.md §2, composition events: the composition's URL, or its hook's."""
        url, method = comp.status_callback, comp.status_callback_method
        if not url:
            return
        form = {"AccountSid": cloud.account_sid, "RoomSid": comp.room.sid, "StatusCallbackEvent": event,
                "Timestamp": iso8601_ms(cloud.timestamp()), "CompositionSid": comp.sid,
                "CompositionUri": f"/v1/Compositions/{comp.sid}"}
        if comp.hook is not None and event == "composition-enqueued":
            form.update(HookSid=comp.hook.sid, HookUri=f"/v1/CompositionHooks/{comp.hook.sid}",
                        HookFriendlyName=comp.hook.friendly_name)
        form.update(extra)
        cloud.webhooks.send(url, method, form)

    def presigned(self, cloud: "Cloud", what: Any) -> str:
        """A download URL for media stored on S3 (recording or composition)."""
        from .storage import parse_s3_url, presign

        settings = cloud.recording_settings if isinstance(what, RecordingRecord) else cloud.composition_settings
        target = parse_s3_url(settings.aws_s3_url)
        return presign(target, target.key(what.room.sid, what.path.name),
                       cloud.aws_credentials.get(settings.aws_credentials_sid or ""))

    # -- results -----------------------------------------------------------------------------
    def media_seconds(self) -> float:
        """Seconds of audio and video written so far (recordings and compositions, every account)."""
        total = 0
        for cloud in self.model.accounts:
            total += sum(r.duration_ms for r in cloud.recordings.values() if r.path is not None and r.kind != "data")
            total += sum(c.duration_ms for c in cloud.compositions.values() if c.path is not None)
        return total / 1000
