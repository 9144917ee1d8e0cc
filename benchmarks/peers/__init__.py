"""The peer scripts: the reference models in NEST 3.10 and Brian2, each run as a
script in the peers' own environment (setup.sh; ``snnlab bench setup-peers``)
and printing one JSON object.  Shipped in the wheel as ``snnlab.peers`` so that
``snnlab bench`` finds them without a checkout; not meant to be imported."""
