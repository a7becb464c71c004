"""fusemax.archtree: the one architecture-tree walker, and where its two readings (Rules) differ."""
from __future__ import annotations

import pytest

from fusemax import yamlio
from fusemax.archtree import (ACCELERGY, TIMELOOP, component_name, flatten_architecture, instance_count,
                              split_range, walk_nodes, walk_subtree)
from fusemax.errors import SpecError

NESTED = """
architecture:
  version: 0.4
  nodes:
  - !Container {name: system, attributes: {technology: 45nm}}
  - !Component {name: buf, class: SRAM, attributes: {depth: 4, width: 8}}
  - !Parallel
    nodes:
    - !Container {name: PE, spatial: {meshX: 4}}
    - !Component {name: rf, class: regfile, attributes: {depth: 2, width: 8}}
  - !Component {name: mac, class: compute, subclass: intmac, spatial: {meshY: 2}}
"""


def _by_name(components):
    return {c.name: c for c in components}


def test_ranges():
    assert split_range("reg_file[1..256]") == ("reg_file", 256)
    assert split_range("reg_file") == ("reg_file", None)
    assert split_range("reg_file[3]") == ("reg_file[3]", None)  # an index is not a range
    assert component_name("system_top_level.reg_file[1..65536]") == "reg_file"
    assert component_name("system_top_level.reg_file[7]") == "reg_file"
    assert instance_count("system_top_level.reg_file[1..65536]") == 65536
    assert instance_count("system_top_level.reg_file") == 1


def test_timeloop_and_accelergy_readings_of_one_tree():
    nodes = yamlio.loads(NESTED)["architecture"]["nodes"]
    tl, ac = _by_name(walk_nodes(nodes, "n.yaml", TIMELOOP)), _by_name(walk_nodes(nodes, "n.yaml", ACCELERGY))
    # Both place timeloopfe's dummy level above the fan-out, with the fan-out it opens.
    dummy = tl["inter_PE_spatial"]
    assert dummy.is_spatial_dummy and (dummy.fanout_x, dummy.instances, ac["rf"].instances) == (4, 1, 4)
    # Timeloop: the PE fan-out outlives the !Parallel list and a Component's spatial is not read.
    assert (tl["mac"].instances, tl["mac"].mesh_x, tl["mac"].mesh_y) == (4, 4, 1)
    # Accelergy: the fan-out ends with its list, and the Component's own spatial multiplies it.
    assert (ac["mac"].instances, ac["mac"].mesh_x, ac["mac"].mesh_y) == (2, 1, 2)
    assert ac["mac"].full_name == "system_top_level.mac[1..2]"
    # Classes: estimated by the subclass, declared as written; attributes inherited from containers.
    assert (ac["mac"].cls, ac["mac"].declared_class) == ("intmac", "compute")
    assert ac["rf"].attributes["technology"] == "45nm" and "technology" not in ac["rf"].own_attributes


def test_subtree_readings():
    arch = {"subtree": [{"name": "sys[1..2]", "attributes": {"technology": "16nm"},
                         "local": [{"name": "rf[1..4]", "class": "regfile",
                                    "attributes": {"meshX": 2, "meshY": 2}},
                                   {"name": "mac", "class": "intmac", "attributes": {"instances": 3}}]}]}
    tl, ac = _by_name(walk_subtree(arch, "p.yaml", TIMELOOP)), _by_name(walk_subtree(arch, "p.yaml", ACCELERGY))
    assert (tl["rf"].instances, tl["rf"].mesh_x, tl["mac"].instances) == (4, 2, 3)
    assert (ac["rf"].instances, ac["rf"].mesh_x, ac["mac"].instances) == (8, 1, 2)
    assert ac["rf"].full_name == "sys[1..2].rf[1..4]" and ac["rf"].attributes["technology"] == "16nm"


def test_flattened_local_format():
    comps = flatten_architecture({"architecture": {"local": [
        {"name": "system_top_level.buf[1..4]", "class": "SRAM", "attributes": {"depth": 2}}]}})
    assert [(c.name, c.instances, c.attributes) for c in comps] == [("buf", 4, {"depth": 2})]


def test_errors_name_file_and_key():
    nodes = yamlio.loads(NESTED.replace("meshX: 4", "meshX: 4.5"))["architecture"]["nodes"]
    with pytest.raises(SpecError, match=r"n.yaml: architecture.PE.spatial.meshX: expected an integer"):
        list(walk_nodes(nodes, "n.yaml", TIMELOOP))
    assert _by_name(walk_nodes(nodes, "n.yaml", ACCELERGY))["rf"].instances == 4  # int() truncates
    with pytest.raises(SpecError, match=r"a.yaml: architecture: architecture has none of"):
        flatten_architecture({"architecture": {}}, "a.yaml")
