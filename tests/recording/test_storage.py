"""External storage: uploads to a real S3-compatible server on 127.0.0.1 (moto's server mode), and
what happens when the store is unreachable."""

import socket
from urllib.request import urlopen

import pytest

import vroom
from vroom.recording.service import MAX_UPLOAD_ATTEMPTS
from vroom.recording.storage import parse_s3_url

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="media")
    yield port, client
    server.stop()


def _room(tmp_path, url, seed=2):
    sim = vroom.Simulation(seed=seed, media_dir=tmp_path)
    cred = sim.cloud.add_aws_credentials("testing", "testing")
    settings = sim.cloud.video.v1.recording_settings().create(
        friendly_name="to s3", aws_s3_url=url, aws_storage_enabled=True, aws_credentials_sid=cred)
    assert settings.aws_storage_enabled is True and settings.aws_credentials_sid == cred
    room = sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True,
                                           status_callback="https://backend.example/rooms")
    got = []
    sim.cloud.webhooks.register("https://backend.example/rooms", got.append)
    sim.add_participant("alice", publish=["audio"], room="rec", leave=1)
    return sim, room, got


def test_recordings_are_uploaded_and_downloadable(tmp_path, s3):
    port, client = s3
    sim, room, got = _room(tmp_path, f"http://127.0.0.1:{port}/media/recordings")
    sim.run(2)
    [rec] = sim.cloud.recordings.values()
    key = f"recordings/{room.sid}/{rec.sid}.mka"
    assert rec.status == "completed" and rec.media_external_location == f"http://127.0.0.1:{port}/media/{key}"
    stored = client.get_object(Bucket="media", Key=key)["Body"].read()
    assert stored == rec.path.read_bytes()  # and the local copy stays
    completed = [r.form for r in got if r.form["StatusCallbackEvent"] == "recording-completed"][0]
    assert completed["MediaExternalLocation"] == rec.media_external_location
    with urlopen(sim.cloud.video.v1.recordings(rec.sid).media_url()) as answer:  # a presigned URL
        assert answer.read() == stored


def test_an_unreachable_store_is_retried_then_the_recording_fails_with_its_media_kept(tmp_path):
    port = _free_port()  # nothing listens there
    sim, room, got = _room(tmp_path, f"http://127.0.0.1:{port}/media/recordings")
    sim.run(120)
    [rec] = sim.cloud.recordings.values()
    attempts = [r for r in sim.trace.records if r.kind == "media-upload"]
    assert [a.fields["outcome"] for a in attempts] == ["failed"] * MAX_UPLOAD_ATTEMPTS
    gaps = [b.time_us - a.time_us for a, b in zip(attempts, attempts[1:])]
    assert gaps[0] >= 500_000 and gaps[-1] > gaps[0]  # backing off
    assert rec.status == "failed" and rec.path.exists() and rec.path.stat().st_size > 0
    failed = [r.form for r in got if r.form["StatusCallbackEvent"] == "recording-failed"]
    assert [f["FailedOperation"] for f in failed] == ["RecordingUpload"]
    assert sim.cloud.video.v1.recordings(rec.sid).fetch().status == "failed"


def test_settings_are_checked_before_anything_changes(tmp_path):
    sim = vroom.Simulation(seed=1, media_dir=tmp_path)
    settings = sim.cloud.video.v1.recording_settings()
    for params, field in (({"aws_s3_url": "https://b.s3.amazonaws.com/x"}, "FriendlyName"),
                          ({"friendly_name": "x", "aws_s3_url": "ftp://nowhere"}, "AwsS3Url"),
                          ({"friendly_name": "x", "aws_storage_enabled": True}, "AwsS3Url"),
                          ({"friendly_name": "x", "aws_credentials_sid": "CR" + "0" * 32}, "AwsCredentialsSid")):
        with pytest.raises(vroom.TwilioError) as err:
            settings.create(**params)
        assert err.value.code == 20001 and field in err.value.message
    assert settings.fetch().friendly_name is None and settings.fetch().aws_storage_enabled is False


def test_s3_urls_in_both_styles():
    aws = parse_s3_url("https://my-bucket.s3-eu-west-1.amazonaws.com/rooms/2026")
    assert (aws.endpoint_url, aws.region, aws.bucket, aws.prefix) == (None, "eu-west-1", "my-bucket", "rooms/2026")
    assert aws.key("RM1", "RT1.mka") == "rooms/2026/RM1/RT1.mka"
    local = parse_s3_url("http://127.0.0.1:9000/media")
    assert (local.endpoint_url, local.bucket, local.prefix) == ("http://127.0.0.1:9000", "media", "")
    with pytest.raises(ValueError):
        parse_s3_url("http://127.0.0.1:9000/")
