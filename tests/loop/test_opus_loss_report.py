"""The uplink's reported loss reaches the Opus encoder, which codes in-band FEC only when loss is reported."""

import vroom


def _sender(loss: str) -> vroom.Simulation:
    sim = vroom.Simulation(seed=3, congestion_control=True)
    net = {"up": {"rate": "2Mbps", "delay": "20ms", "loss": loss}, "down": {"rate": "2Mbps", "delay": "20ms"}}
    sim.add_participant("alice", network=net, publish=[{"audio": {"talk": 1.0}}])
    sim.add_participant("bob", network=net, publish=[])
    sim.run(5)
    return sim


def test_a_lossy_uplink_turns_opus_fec_on_and_a_clean_one_never_does():
    # libopus decide_fec at 32 kbps full band: FEC is on from 1 % loss (the threshold, 22 kbps scaled by
    # (125 - loss%)/100, is far below the rate; tests/media/test_audio_fec.py works the numbers); 5 % random
    # loss on the uplink is reported every 100 ms and smoothed, so it rounds to about 5 % within the first
    # seconds. With no loss nothing is reported lost and the encoder never codes a copy.
    lossy = _sender("5%").participants["alice"].publications[0].source
    assert lossy.fec_active and lossy.fec_switched_on == 1
    assert 1 <= lossy.packet_loss_percent <= 20  # the smoothed report, capped at 20 % (kMaxPacketLossFraction)
    assert lossy.packets_with_fec > 0
    clean = _sender("0%").participants["alice"].publications[0].source
    assert not clean.fec_active and clean.packets_with_fec == 0 and clean.packet_loss_percent == 0


def test_fec_off_in_the_spec_stays_off_whatever_the_loss():
    sim = vroom.Simulation(seed=3, congestion_control=True)
    net = {"up": {"rate": "2Mbps", "delay": "20ms", "loss": "5%"}, "down": {"rate": "2Mbps", "delay": "20ms"}}
    sim.add_participant("alice", network=net, publish=[{"audio": {"talk": 1.0, "fec": False}}])
    sim.add_participant("bob", network=net, publish=[])
    sim.run(3)
    src = sim.participants["alice"].publications[0].source
    assert src.packet_loss_percent >= 1 and not src.fec_active and src.packets_with_fec == 0
