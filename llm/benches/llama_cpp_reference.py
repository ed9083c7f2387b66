"""llama.cpp itself against the reference file's first-position top-5.

The reference (../shared/reference/smollm2-135m-q4_1.json) was made with
llama-cpp-python 0.3.36 on a CPU. This evaluates each raw and chat case's
prompt ids the way its `oracle` line describes (one thread, n_ctx 1024,
f16 KV cache) with the same llama-cpp-python, built here by
scripts/bench-host-llm (its venv: target/bench-venv), and prints how far
its first-position top-5 is from the file's: the drift any implementation
inherits before its own differences. Prints figures, asserts nothing.

    target/bench-venv/bin/python llm/benches/llama_cpp_reference.py \
        target/models/smollm2-135m-instruct-q4_1.gguf ../shared/reference/smollm2-135m-q4_1.json
"""

import json
import sys

import llama_cpp
import numpy as np
from llama_cpp import Llama


def main():
    model_path, reference_path = sys.argv[1], sys.argv[2]
    with open(reference_path) as f:
        reference = json.load(f)
    llm = Llama(model_path=model_path, n_ctx=1024, n_batch=512, n_threads=1,
                n_threads_batch=1, verbose=False)
    n_vocab = llm.n_vocab()
    for kind in ("raw", "chat"):
        for i, case in enumerate(reference[kind]):
            llm.reset()
            llm.eval(case["prompt_ids"])
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1),
                                           shape=(n_vocab,)).copy()
            top = [int(t) for t in np.argsort(-logits, kind="stable")[:5]]
            want = case["top5_first_position"]
            ids_equal = top == [w["id"] for w in want]
            drift = max(abs(float(logits[w["id"]]) - w["logit"]) for w in want)
            print(f"{kind} {i}: top-5 ids equal: {ids_equal}; "
                  f"max |logit - reference| {drift:.3f}")


if __name__ == "__main__":
    main()
