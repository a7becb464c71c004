"""Run under a Python with genz-llm (GenZ, an LLM roofline analyser); imports nothing from fusemax.

Reads one JSON object on stdin -- ``model`` (HuggingFace-style dimensions), ``system`` (peak TFLOP/s, DRAM
GiB/s, on-chip MiB, clock MHz) and ``cases`` ([context, batch] pairs) -- and prints one JSON object:
``{"tpot_ms": [...], "tables": [...]}``, GenZ's decode latency of one token per case and its per-operator
table (name, latency in ms, bound), so a disagreement can be read operator by operator.
"""
import contextlib
import io
import json
import sys
import warnings


def main() -> None:
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from GenZ import ModelConfig, System, decode_moddeling
        model = ModelConfig(**request["model"])
        out = {"tpot_ms": [], "tables": []}
        for context, batch in request["cases"]:
            system = System(**request["system"])   # GenZ's units: Tflops, GB/s and MB binary, MHz
            result = decode_moddeling(model=model, batch_size=batch, input_tokens=context, output_tokens=0, Bb=1,
                                      system_name=system, bits="bf16")
            table = result["model_df"]
            out["tpot_ms"].append(float(result["Latency"]))
            out["tables"].append([[str(r["Layer Name"]), float(r["Latency (msec)"]), str(r["Bound"])]
                                  for _, r in table.iterrows()])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
