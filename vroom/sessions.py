"""The participants' sessions in the media path: attaching a connected participant (its links, its client,
its subscriptions), publishing and unpublishing, muting and priorities, subscriptions kept in line with the SFU's
routes and subscribe rules, disconnects, and outages (reconnecting after 3 s, disconnected after 30 s).

Every change first brings the data path up to now (``advance``), so packets sent earlier see the old state;
the model's typed events go to ``post`` (``vroom.events``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import events as ev
from .client.logger import check_log_level, check_logger_name
from .control.errors import twilio_error
from .errors import ConfigError, TwilioError
from .lifecycle import ParticipantEvent, ParticipantState, SubscriptionEvent, SubscriptionState, TrackEvent
from .loop import UPLINK_START_BPS
from .media.audio import AudioSpec
from .media.tracks import KIND_CODES, TrackSpec, frame_period, make_source
from .net.link import Link, LinkConfig
from .control.tokens import verify_token
from .cross_traffic import CrossTraffic
from .media.tracks import parse_publish
from .network import Network
from .participant import Keys, Participant, Publication
from .regions import backbone_us, check_location, nearest_region
from .rng import Draws
from .site import Site
from .mesh import MESH_ROOM_TYPES, Mesh

if TYPE_CHECKING:
    from .client.dispatch import ClientDispatcher
    from .client.sdk import Room
    from .client_requests import ClientRequests
    from .control.cloud import Cloud
    from .control.records import ParticipantRecord, RoomRecord, TrackRecord
    from .control.tokens import TokenClaims
    from .directory import Directory
    from .dominant import DominantSpeakers
    from .loop import ControlLoop
    from .media.receiver import Receivers
    from .ports import ClientPort
    from .recording.service import RecordingService
    from .rng import RandomStreams
    from .sfu.core import SFU
    from .trace import Trace

TRACK_KIND = {"audio": "audio", "video": "video", "screen": "video", "data": "data"}
#: twilio-video.js: ICE inactivity of 3 s starts reconnecting; a 30 s session timeout ends it (reference/twilio.md §5).
RECONNECTING_AFTER_US = 3_000_000
DISCONNECTED_AFTER_US = 30_000_000
#: Clock skew tolerated on a token's nbf at connect: twilio-python stamps nbf with the minting machine's
#: second, which may be a little ahead of the simulated cloud's clock (epoch="now" is read once).
NBF_LEEWAY_S = 5.0


class Sessions:
    """Drives each participant's session through the SFU, the directory, the control plane and the clients.

    ``model`` is the port the clients are opened on; ``links``, ``open_links`` and ``link_ids`` are the
    Simulation's tables of links (every one made, the ones still settled, name -> trace id); ``schedule`` and
    ``now_us`` are the clock's; ``recordings()`` makes the recording service, ``media_service()`` is it or None.
    """

    def __init__(self, *, model: "ClientPort", sfu: "SFU", directory: "Directory", receivers: "Receivers",
                 trace: "Trace", post: Callable[["ev.Event"], None], clients: "ClientDispatcher",
                 streams: "RandomStreams", participants: dict[str, Participant], keys: Keys, accounts: list["Cloud"],
                 key_secret: Callable[[str], tuple[str, str] | None], loop: "ControlLoop",
                 speakers: "DominantSpeakers",
                 links: list[Link], open_links: list[Link], link_ids: dict[str, int], congestion_control: bool,
                 advance: Callable[[int], None], now_us: Callable[[], int],
                 schedule: Callable[..., None], recordings: Callable[[], "RecordingService"],
                 media_service: Callable[[], "RecordingService | None"], requests: "ClientRequests") -> None:
        self._model = model
        self.requests = requests  # what clients asked for that shapes their media (codecs, caps), and hear back
        self.sfu = sfu
        self.directory = directory
        self.receivers = receivers
        self.trace = trace
        self.post = post  # where the typed events go (the Simulation's sink of the moment)
        self.clients = clients
        self.streams = streams
        self.participants = participants
        self.keys = keys
        self.accounts = accounts
        self._key_secret = key_secret
        self.loop = loop
        self.speakers = speakers
        self._links = links
        self._open_links = open_links
        self._link_ids = link_ids
        self.congestion_control = congestion_control
        self._advance = advance
        self._now_us = now_us
        self.schedule = schedule
        self._recordings = recordings
        self._media_service = media_service
        self.sites: dict[str, Site] = {}  # by name, in the order they were added
        #: the cross traffic (``vroom.cross_traffic``), whose flows wait for links by name
        self.cross = CrossTraffic(find_link=lambda name: self.link(name, made=False), rng=streams.stream,
                                  record=lambda what, **f: trace.record(now_us(), what, **f), now_us=now_us)
        #: the copies of every mesh room's tracks (``vroom.mesh``)
        self.mesh = Mesh(sfu=sfu, directory=directory, receivers=receivers, streams=streams, trace=trace,
                         members=directory.members, start_bps=loop.feedback.pair_start_bps, made=requests.copy_made,
                         link_ids=link_ids)

    @property
    def now_us(self) -> int:
        return self._now_us()

    def connect(self, token: str, name: str | None, *, audio: Any, video: Any, tracks: Iterable[Any] | None,
                network: "Network | dict[str, Any] | None", options: dict[str, Any],
                driver: Participant | None) -> "Room":
        """``Simulation.connect``: the token checked, the room found or made, the participant admitted and
        attached (``driver``: the scenario participant that connects, else a new one)."""
        cloud = self.cloud_for(token)
        claims = verify_token(token, now=cloud.timestamp(), key_secret=self._key_secret,
                              account_sid=cloud.account_sid, room=name, leeway_s=NBF_LEEWAY_S)
        net = Network.ideal() if network is None else Network.from_spec(network)
        from .sfu.allocator import BandwidthProfile

        BandwidthProfile.from_options(options["bandwidth_profile"])  # a bad one fails before anything is made
        check_logger_name(options.get("logger_name", "twilio-video"))
        check_log_level(options.get("log_level", "warn"))
        if tracks is None:
            items: list[Any] = []
            for kind, option in (("audio", audio), ("video", video)):
                if option is True:
                    items.append(kind)
                elif isinstance(option, dict):
                    items.append({kind: option})
            specs = parse_publish(items, "tracks")
        else:
            specs = parse_publish(list(tracks), "tracks")
        self._advance(self.now_us)
        room = cloud.room_for_connect(name or claims.room, claims.identity)
        if room.audio_only and any(TRACK_KIND[s.kind] == "video" for s in specs):
            raise twilio_error(53125, f"{room.unique_name} is audio-only")
        record = cloud.admit(room, claims.identity)
        if not options["automatic_subscription"]:
            record.subscribe_rules = [{"type": "exclude", "all": True, "publisher": None, "track": None,
                                       "kind": None, "priority": None}]
        p = driver
        if p is None:
            p = Participant(claims.identity, room.unique_name, account=self.accounts.index(cloud) + 1)
            self.keys.add(p)
        return self.attach(p, record, cloud, net, specs, options)

    def check_token(self, token: str) -> "TokenClaims":
        """The claims of ``token`` as the signaling server checks it, for any room (20101–20107)."""
        cloud = self.cloud_for(token)
        return verify_token(token, now=cloud.timestamp(), key_secret=self._key_secret,
                            account_sid=cloud.account_sid, leeway_s=NBF_LEEWAY_S)

    def cloud_for(self, token: object) -> "Cloud":
        """The account whose SID is the token's subject (20101, 20103 if none)."""
        import jwt

        try:
            sub = jwt.decode(token, options={"verify_signature": False}).get("sub")  # type: ignore[arg-type]
        except Exception:
            raise twilio_error(20101, "the token is not a JWT") from None
        if not isinstance(sub, str) or not sub:
            raise twilio_error(20101, "the token has no subject (sub): the account SID it was minted for")
        for cloud in self.accounts:
            if cloud.account_sid == sub:
                return cloud
        raise twilio_error(20103, f"the token's subject {sub!r} is not an account of this simulation")

    def attach(self, p: Participant, record: "ParticipantRecord", cloud: "Cloud", net: Network,
               specs: list[TrackSpec], options: dict[str, Any]) -> "Room":
        """A connected participant joins the media path: its SFU member, links and client, then its tracks."""
        now = self.now_us
        room = record.room
        member = self.sfu.connect(p.identity, room.sid)
        p.lifecycle.fire(ParticipantEvent.CONNECT)
        record.lifecycle = p.lifecycle  # one lifecycle: the Participant resource's status reads it
        p.mesh = room.type in MESH_ROOM_TYPES
        p.room = room.unique_name
        p.index = member.index
        p.joined_at = now
        p.record = record
        p.cloud = cloud
        self.requests.joined(record, options)
        self.directory.add_member(p, record.sid)
        p.uplink = self.make_link(f"{p.key}/up", net.up)
        p.downlink = self.make_link(f"{p.key}/down", net.down)
        if p.site is not None and p.key not in p.site.members:
            p.site.members.append(p.key)
        located = self._backbone(p, room)
        asked = options.get("region", "gll")  # signaling: the region asked for, else (gll) the nearest
        record.signaling_region = asked if asked != "gll" else nearest_region(p.location) if p.location else \
            room.region if room.region != "gll" else "gll"
        client = p.client = self.clients.open(self._model, record, options)
        self.trace.record(now, "participant-connected", **p.named(), room=room.unique_name,
                          room_sid=room.sid, participant_sid=record.sid, **located)
        cloud.event(room, "participant-connected", participant=record)
        for other in room.connected:  # the newcomer is shown what the others publish
            if other is not record and self.directory.participant(other.sid) is not None:
                for t in other.tracks:
                    if t.published:
                        self.directory.show(record.sid, t.sid)
        self.post(ev.ParticipantConnected(record))
        if not (net.up.up and net.down.up) or (p.site is not None and not (p.site.up.config.up
                                                                         and p.site.down.config.up)):
            self.outage_check(p)
        self.speakers.watch(p, bool(options.get("dominant_speaker")))
        if p.mesh:
            self.mesh.joined(p, now)
        if record.subscribe_rules is not None:
            self.route_by_rules(record)
        self.sync_subscriptions(room, [record], None)
        for spec in specs:
            try:
                self.publish(p, spec)
            except TwilioError as exc:
                self.trace.record(now, "track-refused", **p.named(), track=spec.name, code=exc.code,
                                  message=exc.message)
        return client

    def _backbone(self, p: Participant, room: "RoomRecord") -> dict[str, Any]:
        """Set ``p``'s backbone delay to its room's SFU (``vroom.regions``); the trace fields that say so."""
        location = p.location  # at a site, the site's (``place``)
        if location is None:
            return {}
        if p.mesh:  # no media server: the relay between the peers is where the first located one is (``vroom.mesh``)
            region = self.mesh.relay_region(room.sid, location)
        else:
            if room.region == "gll":  # the region nearest the first participant who connects with a location
                room.sfu_region = nearest_region(location)
            region = room.region
        one_way = backbone_us(location, region)
        p.backbone_us = one_way or 0  # None: no figures for that region (the trace says backbone_ms: null)
        return {"location": location, "media_region": region,
                "backbone_ms": None if one_way is None else one_way / 1000}

    def add_site(self, name: object, network: "Network | dict[str, Any]", location: object = None) -> Site:
        """A site and its two shared links, ``site:<name>/up`` and ``site:<name>/down``."""
        if not isinstance(name, str) or not name or "/" in name:
            raise ConfigError("site", f"expected a site name without '/', got {name!r}")
        if name in self.sites:
            raise ConfigError("site", f"a site named {name!r} exists already")
        net = Network.from_spec(network, "network")
        where = check_location(location)
        site = Site(name, self.make_link(f"site:{name}/up", net.up), self.make_link(f"site:{name}/down", net.down),
                    net, location=where)
        self.sites[name] = site
        return site

    def place(self, site: object, location: object) -> dict[str, Any]:
        """Where a new participant is: its site (by name) and its location, checked (``Participant``'s fields)."""
        at = None if site is None else self.site(site)
        where = check_location(location)
        if at is not None and where is not None and where != at.location:
            raise ConfigError("location", f"a participant at site {at.name!r} is where the site is "
                                          f"({at.location}), got {where!r}")
        return {"site": at, "location": where if at is None else at.location}

    def site(self, name: object, path: str = "site") -> Site:
        if not isinstance(name, str) or name not in self.sites:
            known = ", ".join(self.sites) or "none added"
            raise ConfigError(path, f"expected the name of a site ({known}), got {name!r}")
        return self.sites[name]

    def link(self, name: object, made: bool = True) -> Link | None:
        """A link by name (``Simulation.link``): ``<participant>/up`` or ``/down``, ``site:<name>/up`` or ``/down``;
        ``made=False``: None for a participant's link not made yet, rather than an error."""
        if isinstance(name, str) and name.startswith("site:"):
            site, _, direction = name[len("site:"):].rpartition("/")
            if direction not in ("up", "down"):
                raise ConfigError("link", f"expected 'site:<name>/up' or 'site:<name>/down', got {name!r}")
            s = self.site(site, "link")
            return s.up if direction == "up" else s.down
        identity, _, direction = name.rpartition("/") if isinstance(name, str) else ("", "", "")
        if direction not in ("up", "down") or not identity:
            raise ConfigError("link", f"expected '<identity>/up' or '<identity>/down', got {name!r}")
        p = self.keys.find(identity, "link", f"/{direction}")
        link = p.uplink if direction == "up" else p.downlink
        if link is None and made:
            raise ConfigError("link", f"{identity!r} is not connected yet, so {name!r} does not exist")
        return link

    def make_link(self, name: str, config: LinkConfig) -> Link:
        link = Link(name, config, self.streams.stream(f"link/{name}/loss"),
                    self.streams.stream(f"link/{name}/jitter"))
        self._link_ids[name] = self.trace.add_link(name)
        link.on_change = self.link_changing
        link.on_reopen = self._open_links.append
        self._links.append(link)
        self._open_links.append(link)
        self.cross.link_made(link)
        return link

    def publish(self, p: Participant, spec: TrackSpec) -> Publication:
        now = self.now_us
        record = p.record
        assert record is not None and p.cloud is not None
        spec = self.requests.prepare(record, spec)
        if not p.fec and isinstance(spec.spec, AudioSpec):  # useinbandfec=0 negotiated: no LBRR (RFC 7587 §7.1)
            spec = replace(spec, spec=replace(spec.spec, fec=False))
        track_record = p.cloud.add_track(record, spec.name, TRACK_KIND[spec.kind])
        draws = Draws(self.streams.stream(f"source/{p.key}/{spec.name}"))
        ssrc = int(draws.uniform() * 2**32) or 1
        start = now + int(draws.uniform() * frame_period(spec))  # sources don't tick in lockstep
        source = make_source(spec, draws, ssrc, start)
        if self.congestion_control and hasattr(source, "set_target_bitrate"):
            # a new encoder starts at the uplink's estimate (libwebrtc: the start bitrate before any)
            up = self.loop.feedback.estimators.get(p.uplink.name) if p.uplink is not None else None
            source.set_target_bitrate(up.target_bitrate_bps if up is not None else UPLINK_START_BPS)
        # in a mesh room the track's own SFU track is routed to nobody (its target is its publisher): its copies go
        sfu_pub = self.sfu.publish(p.index, KIND_CODES[spec.kind], spec.name, ssrc, target=p.index if p.mesh else -1)
        sfu_pub.priority = track_record.priority = spec.priority
        source.track = sfu_pub.index
        for layer, ts0 in enumerate(getattr(source, "ts0s", [])):
            self.sfu.forwarder.ts_shift[sfu_pub.index, layer] = ts0 - source.ts0s[0]  # type: ignore[attr-defined]
        track_record.sfu_track = sfu_pub.index
        if spec.kind == "data":
            self.receivers.track_ordered[sfu_pub.index] = spec.spec.ordered  # type: ignore[union-attr]
        pub = Publication(spec.name, spec.kind, source, sfu_pub.index, track_record)
        p.publications.append(pub)
        self.directory.add_publication(pub)
        if p.mesh:
            self.mesh.published(p, pub, spec, now)
        self.trace.record(now, "track-published", **p.named(), track=spec.name, track_kind=spec.kind,
                          track_sid=track_record.sid, ssrc=ssrc,
                          **{k: v for k, v in source.describe().items() if k != "kind"})
        room = record.room
        p.cloud.event(room, "track-added", participant=record, track=track_record)
        if room.record_participants_on_connect or room.recording_rules is not None:
            self._recordings().update_room(room)
        for other in room.connected:
            if other is not record and other.subscribe_rules is not None:
                self.sfu.subscribe(self.member(other).index, sfu_pub.index, p.cloud.subscribed(other, track_record))
        for other in room.connected:
            if other is not record:
                self.directory.show(other.sid, track_record.sid)
        self.post(ev.TrackPublished(track_record, _media(spec, source)))
        self.requests.published(p, pub)
        self.sync_subscriptions(room, None, [track_record])
        return pub

    def member(self, record: "ParticipantRecord") -> Participant:
        """The member of the media path whose Participant resource is ``record``."""
        p = self.directory.participant(record.sid)
        if p is None:
            raise LookupError(f"participant {record.sid} has no member in the media path")
        return p

    def sync_subscriptions(self, room: "RoomRecord", subscribers: list["ParticipantRecord"] | None,
                           tracks: list["TrackRecord"] | None) -> None:
        """Bring subscriptions in line with the SFU's routes (trace records, then typed events)."""
        subs = subscribers if subscribers is not None else room.connected
        for s in subs:
            subscriber = self.member(s)
            for publisher in room.connected:
                if publisher is s:
                    continue
                for t in (tracks if tracks is not None else publisher.tracks):
                    if t.participant is not publisher:
                        continue
                    view = self.directory.view(s.sid, t.sid)
                    if view is None:
                        continue
                    routed = t.published and self.routed(subscriber.index, t)
                    refused = routed and bool(self.requests.failing) and self.requests.refused(subscriber, t)
                    routed = routed and not refused
                    if routed != (view.state is SubscriptionState.SUBSCRIBED):
                        view.fire(SubscriptionEvent.SUBSCRIBE if routed else SubscriptionEvent.UNSUBSCRIBE)
                        kind = "track-subscribed" if routed else "track-unsubscribed"
                        self.trace.record(self.now_us, kind, **subscriber.named(),
                                          **self.member(publisher).named("publisher"), track=t.name)
                        self.post(ev.TrackSubscribed(s, t) if routed else ev.TrackUnsubscribed(s, t))
                        self.requests.subscribed(subscriber, t, routed)
                    if refused:
                        self.requests.failed(subscriber, t)

    def route_by_rules(self, record: "ParticipantRecord") -> None:
        p = self.member(record)
        assert p.cloud is not None
        for other in record.room.connected:
            if other is record:
                continue
            for t in other.tracks:
                track = self.sfu_track(t, p.index)
                if t.published and track >= 0:
                    self.sfu.subscribe(p.index, track, p.cloud.subscribed(record, t))

    def apply_subscribe_rules(self, record: "ParticipantRecord") -> None:
        """Subscribe rules changed through the REST API: the SFU forwards accordingly, from now."""
        if record.status == "disconnected":
            return
        self._advance(self.now_us)
        self.route_by_rules(record)
        self.sync_subscriptions(record.room, [record], None)

    def is_routed(self, record: "ParticipantRecord", track: "TrackRecord") -> bool:
        """Whether the SFU forwards ``track`` to ``record``'s participant now."""
        p = self.directory.participant(record.sid)
        return p is not None and self.routed(p.index, track)

    def sfu_track(self, track: "TrackRecord", subscriber: int) -> int:
        """The SFU track that carries ``track`` to member ``subscriber`` (in a mesh room its copy to it, -1
        while there is none)."""
        return self.directory.tracks[track.sfu_track].track_for(subscriber)

    def routed(self, subscriber: int, track: "TrackRecord") -> bool:
        """Whether the SFU forwards ``track`` to member ``subscriber`` now."""
        t = self.sfu_track(track, subscriber)
        return t >= 0 and bool(self.sfu.route[subscriber, t])

    def unpublish(self, p: Participant, pub: Publication) -> None:
        pub.source.draws.release()  # it sends nothing more
        record = p.record
        assert record is not None and p.cloud is not None
        t = pub.record
        t.lifecycle.fire(TrackEvent.UNPUBLISH)
        t.updated_us = self.now_us
        self.mesh.unpublished(pub)
        self.sfu.unpublish(pub.track)
        self.trace.record(self.now_us, "track-unpublished", **p.named(), track=pub.name)
        service = self._media_service()
        if service is not None:
            service.stop(t)
        room = record.room
        self.sync_subscriptions(room, None, [t])
        self.directory.end_track(t.sid)
        self.post(ev.TrackUnpublished(t))
        p.cloud.event(room, "track-removed", participant=record, track=t)
        self.speakers.audio_ended(p)

    def set_track_enabled(self, p: Participant, track: str, enabled: bool) -> None:
        """Mute (``enabled=False``) or unmute ``p``'s published track."""
        self._advance(self.now_us)
        pub = p.publication(track)
        if pub.record.enabled == enabled:
            return
        on = enabled and not self.requests.is_paused(pub.record.sid)  # a stopped track stays quiet
        pub.source.enabled = on
        for src in pub.sources():
            src.enabled = on
        for c in dict.fromkeys([pub, *pub.senders(ended=True)]):  # a mesh track's own SFU track and its copies'
            self.sfu.publications[c.track].enabled = enabled
        self.preferences_changed()
        t = pub.record
        t.enabled = enabled
        t.updated_us = self.now_us
        self.trace.record(self.now_us, "track-enabled" if enabled else "track-disabled",
                          **p.named(), track=pub.name)
        record = p.record
        assert record is not None and p.cloud is not None
        self.post(ev.TrackEnabled(t) if enabled else ev.TrackDisabled(t))
        p.cloud.event(record.room, "track-enabled" if enabled else "track-disabled", participant=record, track=t)

    def set_track_priority(self, participant: "ParticipantRecord", track: str, priority: str) -> None:
        """Change the publish priority of ``participant``'s track called ``track`` from now."""
        p = self.member(participant)
        self._advance(self.now_us)
        pub = p.publication(track)
        for c in dict.fromkeys([pub, *pub.senders(ended=True)]):
            self.sfu.publications[c.track].priority = priority
        pub.record.priority = priority
        self.preferences_changed()
        self.trace.record(self.now_us, "track-priority-changed", **p.named(), track=track, priority=priority)
        self.post(ev.TrackPublishPriorityChanged(pub.record, priority))
        ruled = [other for other in participant.room.connected
                 if other is not participant and other.subscribe_rules is not None]
        cloud: Any = p.cloud
        for other in ruled:  # a rule may select tracks by their priority
            self.sfu.subscribe(self.member(other).index, pub.track, cloud.subscribed(other, pub.record))
        if ruled:
            self.sync_subscriptions(participant.room, ruled, [pub.record])

    def preferences_changed(self) -> None:
        """Something the allocator reads changed (priorities, client switch-offs, render sizes, speaker)."""
        self.loop.allocation.preferences_changed()

    def disconnect_participant(self, record: "ParticipantRecord", error: TwilioError | None, *,
                               kicked: bool = False) -> None:
        """Take a participant out (no-op if it is not in the media path): media, then the control plane,
        then everyone's clients. ``error``: why (None: it left); ``kicked``: by the REST API."""
        p = self.directory.participant(record.sid)
        if p is None or not p.connected:
            return
        assert p.cloud is not None
        now = self.now_us
        self._advance(now)
        room = record.room
        self.sfu.disconnect(p.index)
        if p.mesh:
            self.mesh.left(p)
        self.speakers.forget(p)
        p.left_at = now
        p.uplink.close()  # type: ignore[union-attr]
        p.downlink.close()  # type: ignore[union-attr]
        p.outage += 1
        fields: dict[str, Any] = {**p.named(), "room": room.unique_name, "room_sid": room.sid,
                                  "participant_sid": record.sid}
        if error is not None:
            fields.update(code=error.code, message=error.message)
        if kicked:
            fields["kicked"] = True
        self.trace.record(now, "participant-disconnected", **fields)
        service = self._media_service()
        if service is not None:
            for pub in p.publications:
                service.stop(pub.record)
        p.lifecycle.fire(ParticipantEvent.DISCONNECT)
        p.cloud.participant_left(record)  # its tracks are unpublished there (track-removed callbacks)
        for pub in p.publications:
            self.directory.end_track(pub.record.sid)
        self.directory.end_subscriber(record.sid)
        self.post(ev.ParticipantDisconnected(record))
        self.post(ev.Disconnected(record, error))
        self.release(p)

    def release(self, p: Participant) -> None:
        """Free what an ended session held that nothing reads again: its sources' blocks of random draws and
        the control loop's working state (its results stay)."""
        for pub in p.publications:
            pub.source.draws.release()  # a mesh track's copies' draws went with them (``Mesh.left``)
        self.loop.release_member(p)

    def link_changing(self, link: Link, changes: dict[str, Any]) -> None:
        self._advance(self.now_us)  # packets that entered before now see the old settings
        self.trace.record(self.now_us, "link-changed", link=link.name, **{k: str(v) for k, v in changes.items()})
        if "up" in changes:
            identity = link.name.rpartition("/")[0]
            site = self.sites.get(identity[len("site:"):]) if identity.startswith("site:") else None
            for key in [identity] if site is None else site.members:  # a site's outage is each member's
                p = self.participants.get(key)
                if p is not None and p.connected:
                    self.schedule(self.now_us, lambda p=p: self.outage_check(p), later=True)

    def outage_check(self, p: Participant) -> None:
        """Links down: reconnecting after 3 s, disconnected (53405) after 30 s; back up: reconnected."""
        if not p.connected:
            return
        links = [p.uplink, p.downlink] + ([] if p.site is None else [p.site.up, p.site.down])
        down = not all(link.config.up for link in links)  # type: ignore[union-attr]
        if down and p.outage_since is None:
            p.outage_since = start = self.now_us
            p.outage += 1
            generation = p.outage
            record = p.record
            assert record is not None
            self.schedule(start + RECONNECTING_AFTER_US, lambda: self.set_reconnecting(p, True),
                          cancel_with=lambda: p.outage != generation)
            self.schedule(start + DISCONNECTED_AFTER_US,
                          lambda: self.disconnect_participant(record, twilio_error(
                              53405, "no media for 30 s: the session timed out")),
                          cancel_with=lambda: p.outage != generation)
        elif not down and p.outage_since is not None:
            p.outage_since = None
            p.outage += 1  # cancels the pending timers
            if p.status is ParticipantState.RECONNECTING:
                self.set_reconnecting(p, False)

    def set_reconnecting(self, p: Participant, on: bool) -> None:
        record = p.record
        if not p.connected or record is None:
            return
        p.lifecycle.fire(ParticipantEvent.LOSE_MEDIA if on else ParticipantEvent.REGAIN_MEDIA)
        record.updated_us = self.now_us
        self.trace.record(self.now_us, "participant-reconnecting" if on else "participant-reconnected",
                          **p.named())
        if on:
            self.post(ev.Reconnecting(record, twilio_error(53405, "media connection lost")))
        else:
            self.post(ev.Reconnected(record))


def _media(spec: TrackSpec, source: Any) -> dict[str, Any] | None:
    """What clients are told of a new track's source: a data track's channel, a camera's capture size."""
    inner: Any = spec.spec
    if spec.kind == "data":
        return {"ordered": inner.ordered, "reliable": inner.reliable}
    ladder = getattr(source, "ladder", None)
    if ladder:
        return {"width": ladder[-1].width, "height": ladder[-1].height, "fps": inner.fps}
    return None
