"""Models from HuggingFace config.json files (written here from the models' published configs) and the inline
form's mlp=, mask=, window=, layers=, vocab=."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusemax.cli import main
from fusemax.errors import WorkloadError
from fusemax.results import load
from fusemax.workload import Model, get_model, load_models, parse_model_spec

#: The published config.json of each model (the fields fusemax reads, plus some it ignores).
QWEN2_7B = {"_name_or_path": "Qwen/Qwen2-7B", "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28, "num_key_value_heads": 4,
            "num_hidden_layers": 28, "vocab_size": 152064, "hidden_act": "silu", "max_position_embeddings": 131072,
            "max_window_layers": 28, "sliding_window": 131072, "use_sliding_window": False, "rope_theta": 1000000.0,
            "rms_norm_eps": 1e-06, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
MISTRAL_7B = {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
              "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
              "num_hidden_layers": 32, "vocab_size": 32000, "hidden_act": "silu", "sliding_window": 4096,
              "max_position_embeddings": 32768, "rope_theta": 10000.0, "rms_norm_eps": 1e-05}
MIXTRAL_8X7B = {**MISTRAL_7B, "architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
                "num_local_experts": 8, "num_experts_per_tok": 2, "sliding_window": None}
OPT_66B = {"_name_or_path": "facebook/opt-66b", "architectures": ["OPTForCausalLM"], "model_type": "opt",
           "hidden_size": 9216, "ffn_dim": 36864, "num_attention_heads": 72, "num_hidden_layers": 64,
           "vocab_size": 50272, "activation_function": "relu", "do_layer_norm_before": True}
FALCON_7B = {"architectures": ["FalconForCausalLM"], "model_type": "falcon", "hidden_size": 4544, "n_head": 71,
             "multi_query": True, "n_layer": 32, "vocab_size": 65024, "parallel_attn": True, "alibi": False}
BERT = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768, "intermediate_size": 3072,
        "num_attention_heads": 12, "num_hidden_layers": 12, "vocab_size": 30522, "hidden_act": "gelu"}
PYTHIA_14M = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": 128,
              "intermediate_size": 512, "num_attention_heads": 4, "num_hidden_layers": 6, "vocab_size": 50304,
              "hidden_act": "gelu", "use_parallel_residual": True, "rotary_pct": 0.25}
LLAMA_3_8B = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
              "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
              "num_hidden_layers": 32, "vocab_size": 128256, "hidden_act": "silu"}


def _write(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def _dims(model: Model) -> tuple:
    return (model.D, model.H, model.E, model.F, model.S, model.KV, model.mlp, model.mask, model.window,
            model.layers, model.vocab)


@pytest.mark.parametrize("zoo, config", [("Qwen2-7B", QWEN2_7B), ("Mistral-7B", MISTRAL_7B), ("OPT-66B", OPT_66B),
                                         ("Falcon-7B", FALCON_7B), ("BERT", BERT), ("Pythia-14M", PYTHIA_14M),
                                         ("Llama-3-8B", LLAMA_3_8B)])
def test_config_json_loads_into_the_zoo_entry(tmp_path, zoo, config):
    path = _write(tmp_path / zoo / "config.json", config)
    models = load_models(path)
    # named by _name_or_path's last part, else by the folder of config.json
    assert zoo.lower() in {name.lower() for name in models}
    loaded = get_model(zoo, path)
    assert "config.json" in loaded.source
    assert _dims(loaded) == _dims(get_model(zoo))


def test_published_numbers():
    qwen, mistral = get_model("Qwen2-7B"), get_model("Mistral-7B")
    assert _dims(qwen) == (3584, 28, 128, 128, 18944, 4, "gated", "causal", None, 28, 152064)
    assert _dims(mistral) == (4096, 32, 128, 128, 14336, 8, "gated", "window", 4096, 32, 32000)


def test_a_folder_of_configs_is_one_model_per_file(tmp_path):
    _write(tmp_path / "qwen" / "config.json", QWEN2_7B)        # named by _name_or_path
    _write(tmp_path / "mistral-7b" / "config.json", MISTRAL_7B)  # by its folder
    _write(tmp_path / "bert-base.json", BERT)                   # by its file
    models = load_models(tmp_path)
    # mistral-7b folds onto the zoo's Mistral-7B (one name per model, case and punctuation ignored): a
    # config.json, named by its path rather than by the user, overrides the zoo entry under the zoo's spelling
    assert {"Qwen2-7B", "Mistral-7B", "bert-base"} <= models.keys() and "mistral-7b" not in models
    assert "config.json" in models["Mistral-7B"].source
    assert models["Mistral-7B"].window == 4096 and models["bert-base"].mask == "none"


@pytest.mark.parametrize("field, config", [
    ("num_local_experts", MIXTRAL_8X7B),
    ("n_routed_experts", {**LLAMA_3_8B, "model_type": "deepseek_v3", "n_routed_experts": 256}),
    ("kv_lora_rank", {**LLAMA_3_8B, "model_type": "deepseek_v2", "kv_lora_rank": 512}),
    ("is_encoder_decoder", {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "d_model": 512,
                            "num_heads": 8, "d_ff": 2048, "num_layers": 6, "vocab_size": 32128,
                            "is_encoder_decoder": True}),
    ("add_cross_attention", {**BERT, "add_cross_attention": True}),
    ("max_window_layers", {**QWEN2_7B, "use_sliding_window": True, "max_window_layers": 21}),
])
def test_layers_fusemax_does_not_model_are_refused_naming_the_field(tmp_path, field, config):
    path = _write(tmp_path / "config.json", config)
    with pytest.raises(WorkloadError) as caught:
        load_models(path)
    assert caught.value.source == str(path) and caught.value.key == field


def test_a_missing_field_is_named(tmp_path):
    path = _write(tmp_path / "config.json", {k: v for k, v in LLAMA_3_8B.items() if k != "vocab_size"})
    with pytest.raises(WorkloadError, match="vocab_size") as caught:
        load_models(path)
    assert caught.value.source == str(path)
    path = _write(tmp_path / "x" / "config.json", {**LLAMA_3_8B, "hidden_act": "tanh"})
    with pytest.raises(WorkloadError, match="tanh") as caught:
        load_models(path)
    assert caught.value.key == "hidden_act"


def test_the_cli_refuses_mixtral_in_one_line(tmp_path, capsys):
    path = _write(tmp_path / "mixtral" / "config.json", MIXTRAL_8X7B)
    assert main(["models", "--models-file", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "num_local_experts" in err
    assert main(["run", "--out", str(tmp_path / "out"), "--models-file", str(path), "--models", "mixtral",
                 "--configs", "binding", "--seq-lens", "256", "--quiet"]) == 2
    assert "num_local_experts" in capsys.readouterr().err


def test_inline_keys():
    model = parse_model_spec("Qwen2-7B:D=3584,H=28,E=128,S=18944,KV=4,mlp=gated,mask=causal,layers=28,vocab=152064")
    assert _dims(model) == _dims(get_model("Qwen2-7B"))
    assert parse_model_spec("m:D=64,H=1,E=64,S=256,window=512").window == 512
    assert parse_model_spec("m:D=64,H=1,E=64,S=256,mask=window:512").mask == "window"
    plain = parse_model_spec("Qwen2-7B:D=3584,H=28,E=128,S=18944,KV=4")
    assert (plain.mlp, plain.mask, plain.layers) == ("plain", "none", None)  # the documented default
    with pytest.raises(WorkloadError, match="mlp"):
        parse_model_spec("m:D=64,H=1,E=64,S=256,mlp=glu")


@pytest.mark.parametrize("mlp, matrices", [("gated", 3), ("plain", 2)])
def test_inline_gated_mlp_has_three_d_by_s_matrices(tmp_path, mlp, matrices):
    # T tokens through the MLP: each D x S matrix is 2 x T x D x S FLOPs (gate and up, then down; or two)
    T, D, S = 256, 256, 1024
    spec = f"tiny:D={D},H=4,E=64,S={S}" + (",mlp=gated" if mlp == "gated" else "")
    assert main(["run", "--out", str(tmp_path), "--configs", "binding", "--layer", "--models", spec,
                 "--seq-lens", str(T), "--batch", "1", "--quiet"]) == 0
    e = load(tmp_path).einsums
    ffn = e[(e["config"] == "proposal") & e["einsum"].isin(["FFN1", "FFN2"])]
    assert ffn["flops"].sum() == matrices * 2 * T * D * S


def test_a_sweep_files_models_file_may_be_a_folder_of_configs(tmp_path):
    tiny = {**LLAMA_3_8B, "hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 512}
    _write(tmp_path / "configs" / "tiny-llama" / "config.json", tiny)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("models_file: configs\nmodels: [tiny-llama]\nconfigs: [binding]\nseq_lens: [256]\nbatch: 1\n")
    assert main(["run", "--out", str(tmp_path / "out"), "--sweep", str(sweep), "--layer", "--quiet"]) == 0
    model = load(tmp_path / "out").model
    assert list(zip(model["model"], model["layers"], model["vocab"])) == [("tiny-llama", 2, 512)]
