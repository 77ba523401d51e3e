import pytest
from twilio.rest import Client

import vroom


@pytest.fixture
def sim():
    return vroom.Simulation(seed=11)


@pytest.fixture
def key(sim):
    return sim.cloud.api_keys.create("backend")


@pytest.fixture
def client(sim, key):
    """The real twilio-python client, wired to the simulated cloud."""
    return Client(key.sid, key.secret, sim.cloud.account_sid, http_client=sim.twilio_http_client())
