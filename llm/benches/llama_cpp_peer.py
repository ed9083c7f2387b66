"""llama.cpp's tokens per second on the same terms as tokens_per_second.rs.

Run by scripts/bench-host-llm inside its venv (llama-cpp-python 0.3.36,
built without native CPU detection). One thread, greedy, the prompt
tokenized without BOS and evaluated in one batch, then N tokens generated
one at a time, REPS times after one warm-up pass; prints each run and a
RESULT line with the medians. The generation loop reads the last logits
straight from llama.cpp (llama_get_logits_ith) and takes the argmax, so
the Python on top is one numpy argmax and one `Llama.eval` call per token.

Usage: python llama_cpp_peer.py MODEL PROMPT N_TOKENS REPS
"""

import statistics
import sys
import time

import llama_cpp
import numpy as np
from llama_cpp import Llama


def main():
    model_path, text, n_gen, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    llm = Llama(model_path=model_path, n_ctx=256, n_batch=256, n_threads=1,
                n_threads_batch=1, verbose=False)
    n_vocab = llm.n_vocab()
    prompt = llm.tokenize(text.encode(), add_bos=False, special=False)
    prompt_rates, gen_rates, generated = [], [], []
    for rep in range(reps + 1):
        llm.reset()
        generated = []
        t = time.perf_counter()
        llm.eval(prompt)
        prompt_secs = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(n_gen):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
            nxt = int(np.argmax(logits))
            generated.append(nxt)
            llm.eval([nxt])
        gen_secs = time.perf_counter() - t
        p, g = len(prompt) / prompt_secs, n_gen / gen_secs
        if rep == 0:
            print(f"llama.cpp: warm-up: prompt {p:.1f} tok/s, generation {g:.1f} tok/s (not counted)")
            continue
        print(f"llama.cpp: run {rep}/{reps}: prompt {len(prompt)} tokens {p:.1f} tok/s, "
              f"generation {n_gen} tokens {g:.1f} tok/s")
        prompt_rates.append(p)
        gen_rates.append(g)
        sys.stdout.flush()
    ids = lambda v: ",".join(map(str, v))
    print(f"RESULT llama.cpp {len(prompt)} {statistics.median(prompt_rates):.2f} {n_gen} "
          f"{statistics.median(gen_rates):.2f} prompt_ids={ids(prompt)} generated_ids={ids(generated)}")


if __name__ == "__main__":
    main()
