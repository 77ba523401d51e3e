import numpy as np

from vroom.net.link import Link, LinkConfig


def make_link(spec=None, seed=1, name="test/down", **fields):
    spec = dict(spec or {"rate": "1Mbps"})
    spec.update(fields)
    config = LinkConfig.from_spec(spec, name)
    return Link(name, config, np.random.Generator(np.random.PCG64(seed)),
                np.random.Generator(np.random.PCG64(seed + 1000)))
