"""Hand-derived checks of the builtin engine on tiny specs, and its errors on malformed ones."""
from __future__ import annotations

import textwrap

import pytest

from fusemax import yamlio
from fusemax.energy.tables import ERT
from fusemax.engine import evaluate, load_spec, spec_from_dict, spec_from_texts
from fusemax.errors import SpecError
from fusemax.render import render, write_rendered
from fusemax.workload import Workload, get_model

CONV1D = """
architecture:
  version: 0.4
  nodes:
  - !Container
    name: accelerator
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 64, width: 8, datawidth: 8}
  - !Component
    name: MACC
    class: intmac
    attributes: {width: 8}
problem:
  version: 0.4
  shape:
    name: Conv1D
    dimensions: [R, P]
    data_spaces:
    - {name: Weights, projection: [[[R]]]}
    - {name: Inputs, projection: [[[R], [P]]]}
    - {name: Outputs, projection: [[[P]]], read_write: true}
  instance: {R: 3, P: 16}
mapping:
  - {target: Buffer, type: temporal, factors: R=3 P=16, permutation: RP}
"""

MATMUL = """
architecture:
  version: 0.4
  nodes:
  - !Container {name: system}
  - !Component {name: DRAM, class: DRAM, attributes: {width: 64, datawidth: 16}}
  - !Container {name: PE, spatial: {meshX: 4}}
  - !Component {name: RF, class: regfile, attributes: {depth: 16, width: 16, datawidth: 16}}
  - !Component {name: mac, class: intmac}
problem:
  shape:
    name: mm
    dimensions: [M, N, K]
    data_spaces:
    - {name: A, projection: [[[M]], [[K]]]}
    - {name: B, projection: [[[K]], [[N]]]}
    - {name: Z, projection: [[[M]], [[N]]], read_write: true}
  instance: {M: 4, N: 8, K: 2}
mapping:
  - {target: DRAM, type: temporal, factors: [M=1, N=8, K=1], permutation: [M, K, N]}
  - {target: PE, type: spatial, factors: [M=4, N=1, K=1], permutation: [M, N, K]}
  - {target: RF, type: temporal, factors: [M=1, N=1, K=2], permutation: [K, M, N]}
  - {target: RF, type: dataspace, keep: [A, Z], bypass: [B]}
"""


def _spec(text: str, source: str = "test.yaml"):
    return spec_from_dict(yamlio.loads(textwrap.dedent(text), source), source)


def test_conv1d_one_level_by_hand():
    ert = ERT(actions={"Buffer": {"read": 0.5, "write": 0.25, "update": 99.0}, "MACC": {"compute": 1.0}})
    stats = evaluate(_spec(CONV1D), ert)
    assert stats.valid and stats.computes == 48 and stats.cycles == 48 and stats.utilization == 1.0
    buf = stats.levels["Buffer"]
    assert buf.size == 64 and buf.block_size == 1
    w, i, o = (buf.dataspaces[n] for n in ("Weights", "Inputs", "Outputs"))
    assert (w.utilized_capacity, w.reads_per_instance, w.fills_per_instance) == (3, 48, 0)
    assert i.utilized_capacity == 16 + 3 - 1  # a sliding window: P + R - 1 inputs
    # Outputs: 48 updates, the first update of each of the 16 outputs needs no read.
    assert (o.updates_per_instance, o.reads_per_instance, o.temporal_reductions_per_instance) == (48, 32, 32)
    assert o.address_generations_per_cluster == 48
    # Updates are charged at the ERT *write* energy, never 'update'.
    assert o.energy_pj == pytest.approx(32 * 0.5 + 48 * 0.25)
    assert stats.arithmetic["MACC"].energy_pj == pytest.approx(48.0)
    assert stats.energy_pj == pytest.approx(48 + 48 * 0.5 * 2 + o.energy_pj)


def test_matmul_multicast_bypass_and_dummy_level_by_hand():
    stats = evaluate(_spec(MATMUL))
    assert list(stats.levels) == ["RF", "inter_PE_spatial", "DRAM"]
    dummy = stats.levels["inter_PE_spatial"]
    assert dummy.dataspaces == {} and dummy.vector_access_energy_source == "PAT" and dummy.size == 1
    rf, dram = stats.levels["RF"], stats.levels["DRAM"]
    assert rf.instances == 4 and dram.block_size == 4 and dram.size is None
    a = rf.dataspaces["A"]
    # RF keeps a 1x2 A tile; N (outer, irrelevant to A) re-uses it: one fill of 2 words per PE.
    assert (a.utilized_capacity, a.utilized_instances, a.reads_per_instance, a.fills_per_instance) == (2, 4, 16, 2)
    z = rf.dataspaces["Z"]
    assert (z.utilized_capacity, z.updates_per_instance, z.reads_per_instance, z.fills_per_instance) == (1, 16, 8, 0)
    # B is bypassed in RF: DRAM serves every MAC read, multicast over the 4 PEs (B ignores M).
    b = dram.dataspaces["B"]
    assert b.reads_per_instance == 16 and b.utilized_capacity == 16
    assert dram.dataspaces["A"].reads_per_instance == 8  # one fill of each PE's A tile
    z = dram.dataspaces["Z"]
    assert (z.updates_per_instance, z.reads_per_instance) == (32, 0)  # each output drained once
    assert stats.arithmetic["mac"].utilized_instances == 4 and stats.cycles == 16


def test_capacity_and_fanout_rejections():
    small = CONV1D.replace("depth: 64", "depth: 36")
    stats = evaluate(_spec(small))
    assert not stats.valid and stats.error == "couldn't map level Buffer: mapped tile size 37 exceeds buffer capacity 36"
    assert stats.to_json() == {"source": "fusemax builtin", "valid": False, "error": stats.error}
    exact = CONV1D.replace("depth: 64", "depth: 37")
    assert evaluate(_spec(exact)).valid  # a tile exactly the capacity fits
    wide = MATMUL.replace("factors: [M=4, N=1, K=1]", "factors: [M=4, N=2, K=1]").replace("N=8", "N=4")
    stats = evaluate(_spec(wide))
    assert stats.error == "couldn't map level mac: mapped max Arithmetic instances 8 exceeds hardware instances 4"


def test_factors_default_to_residual_and_bad_products_are_invalid():
    text = CONV1D.replace("factors: R=3 P=16", "factors: R=3")
    assert evaluate(_spec(text)).computes == 48  # P takes the residual 16
    text = MATMUL.replace("factors: [M=1, N=8, K=1]", "factors: [M=1, N=3, K=1]")
    stats = evaluate(_spec(text))
    assert not stats.valid and "rank N multiply to 3" in stats.error


def test_multiple_files_merge(tmp_path):
    data = yamlio.loads(CONV1D)
    for key in ("architecture", "problem", "mapping"):
        (tmp_path / f"{key}.yaml").write_text(yamlio.dumps({key: data[key]}))
    spec = load_spec(*(tmp_path / f"{k}.yaml" for k in ("architecture", "problem", "mapping")))
    assert evaluate(spec).computes == 48


@pytest.mark.parametrize("edit, key, reason", [
    (("    dimensions: [R, P]\n", ""), "problem.shape.dimensions", "missing required key"),
    (("target: Buffer", "target: Bufer"), "mapping[0].target", "unknown level 'Bufer'"),
    (("factors: R=3 P=16", "factors: R=3 Q=16"), "factors", "unknown rank 'Q'"),
    (("factors: R=3 P=16", "factors: R=3 P=1.5"), "factors", "must be an integer"),
    (("permutation: RP", "permutation: RX"), "permutation", "unknown rank 'X'"),
])
def test_malformed_specs_name_file_and_key(edit, key, reason):
    with pytest.raises(SpecError) as info:
        _spec(CONV1D.replace(*edit), "conv1d.yaml")
    message = str(info.value)
    assert "conv1d.yaml" in message and key in message and reason in message


def test_python_object_tags_are_rejected(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text(CONV1D + "\nextra: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="unsupported YAML content") as info:
        load_spec(path)
    assert "evil.yaml" in str(info.value)


def test_spec_from_texts_equals_loading_the_written_files(tmp_path):
    # The rendered texts and the same texts written to disk must give one spec: the in-memory path the
    # sweep uses cannot drift from what `fusemax model FILE...` (and real Timeloop) read.
    rendered = render("binding", Workload(get_model("BERT"), 1024))
    write_rendered(rendered, tmp_path)
    for name, einsum in rendered.einsums.items():
        from_texts = evaluate(spec_from_texts(einsum.files(), source=name))
        from_files = evaluate(load_spec(*sorted((tmp_path / name.lower()).glob("*.yaml"))))
        assert from_texts.to_json() == from_files.to_json()


def test_spec_from_texts_names_the_file_of_a_bad_text():
    with pytest.raises(SpecError, match=r"QK/mapping.yaml: line \d+: malformed YAML"):
        spec_from_texts({"mapping.yaml": "mapping: [1, 2"}, source="QK")


def test_instance_beyond_64_bit_counters_is_refused():
    qk = render("binding", Workload(get_model("BERT"), 1024)).einsums["QK"]
    files = dict(qk.files())
    assert "    B: 64\n" in files["problem.yaml"]
    files["problem.yaml"] = files["problem.yaml"].replace("    B: 64\n", f"    B: {2**64}\n")
    with pytest.raises(SpecError, match="problem.instance: .*beyond Timeloop's 64-bit counters"):
        spec_from_texts(files, source="huge")


def test_remembered_architecture_and_problem_give_the_spec_a_fresh_parse_gives():
    """spec_from_texts parses an arch.yaml or problem.yaml text once per process; every later spec built
    from it must equal one built from the merged documents afresh, including when another file adds to
    the architecture (then the remembered part is not used) or another problem comes with the same arch."""
    rendered = render("binding", Workload(get_model("BERT"), 1024))
    qk, av = rendered.einsums["QK"].files(), rendered.einsums["SLNV"].files()
    assert qk["arch.yaml"] == av["arch.yaml"] and qk["problem.yaml"] != av["problem.yaml"]

    def fresh(files):
        return spec_from_dict(_merged_documents(files), source="fresh")

    for files in (qk, av, qk):  # the second and third find the arch (and QK's problem) remembered
        assert evaluate(spec_from_texts(files, source="t")).to_json() == evaluate(fresh(files)).to_json()
    # a later file replaces the architecture's nodes (a smaller L3): the merge, not the remembered text, counts
    assert "      depth: 32768\n" in qk["arch.yaml"]
    overridden = {**qk, "zz-smaller-l3.yaml": qk["arch.yaml"].replace("      depth: 32768\n", "      depth: 1024\n")}
    merged = spec_from_texts(overridden, source="t").architecture
    assert merged == fresh(overridden).architecture != spec_from_texts(qk, source="t").architecture
    assert [lv.size for lv in merged.storage if lv.name == "L3"] != \
        [lv.size for lv in spec_from_texts(qk, source="t").architecture.storage if lv.name == "L3"]


def _merged_documents(files):
    from fusemax.engine.spec import merge_texts
    return merge_texts(files)


def test_building_a_spec_leaves_the_shared_documents_as_they_were():
    """spec_from_texts reads yamlio's memoised documents uncopied (loads_shared); merging two files that
    add to the same key (here the problem, split over two files) must copy, not change, what it merges into:
    the next caller of either text must get the text's own document."""
    problem_text = CONV1D[CONV1D.index("problem:"):CONV1D.index("  instance:")]
    texts = {"arch.yaml": CONV1D[:CONV1D.index("problem:")], "problem.yaml": problem_text,
             "instance.yaml": "problem:\n  instance: {R: 3, P: 16}\n",
             "mapping.yaml": CONV1D[CONV1D.index("mapping:"):]}
    assert evaluate(spec_from_texts(texts, source="split")).to_json() == \
        evaluate(spec_from_dict(yamlio.loads(CONV1D))).to_json()
    assert yamlio.loads_shared(problem_text, keys=("architecture", "problem", "mapping")) == \
        yamlio.loads(problem_text)
    assert "instance" not in yamlio.loads_shared(problem_text, keys=("architecture", "problem", "mapping"))["problem"]


def test_a_remembered_factor_list_is_still_checked_against_each_problems_ranks():
    """_parse_mapping remembers parsed factor lists and permutations per process; the same text must still
    be refused for a problem without its rank, and each spec gets loops of its own."""
    first = spec_from_dict(yamlio.loads(CONV1D))
    again = spec_from_dict(yamlio.loads(CONV1D))
    assert first.mapping == again.mapping and first.mapping.levels[0].temporal[0] is not again.mapping.levels[0].temporal[0]
    renamed = yamlio.loads(CONV1D.replace("[R, P]", "[S, P]").replace("[[[R]]]", "[[[S]]]")
                           .replace("[[[R], [P]]]", "[[[S], [P]]]").replace("{R: 3, P: 16}", "{S: 3, P: 16}"))
    with pytest.raises(SpecError, match=r"mapping\[0\] \(Buffer temporal\)\.factors: unknown rank 'R'"):
        spec_from_dict(renamed)
