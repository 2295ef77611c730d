"""openai-whisper decoding many 30-second windows side by side.

``whisper.transcribe`` decodes one window after another, each step of it mostly fixed cost
on a CPU. Windows cut at pauses by voice activity detection are independent (draftcast
does not condition on the previous window's text), so a batch of them can be decoded at
once, with whisper's own beam search and the same weights. Two things in whisper
20250625 stand in the way, and are handled here:

- its DecodingTask keeps one copy of the audio features per window but repeats the tokens
  per beam, which fails for more than one window (``decode_batch`` runs the task's steps
  itself);
- cross-attention reads a window's keys and values once per beam; it is bound by memory
  traffic on a CPU, so the beams of a window are one query block against a single copy
  (the same arithmetic: cross-attention has no mask): ``BatchInference`` in a batch,
  ``share_audio_across_beams`` in whisper's own decoding of a window that failed.

Two change the speed and the memory, not the result:

- whisper's beam search goes on until every window has its candidates, decoding the beams
  of windows that are done (15–17% of the rows of a batch on bench/speed.py's recording);
  ``_beam_search`` lets a window's beams leave the batch once it has them;
- whisper keeps the self-attention's keys and values of the initial tokens (the prompt of
  names, 150 tokens or so) once per beam, copies them whenever the beams are reordered
  and again when a step's are appended: 40 rows × 6 blocks × 150 positions, 147 MB for a
  batch of eight windows on base, copied twice a step. ``BatchInference`` keeps them once
  per window (a window's beams share their initial tokens) and only the decoded tokens'
  per beam, in buffers with room to grow that each step writes into (a new, longer
  tensor every step kept the C heap growing; that and ``keep`` copying a whole batch's
  caches at once: 1685 → 1443 MiB at the peak on bench/speed.py's recording).

One changes the memory and the numbers a little: the cross-attention's keys and values,
the largest buffer of a batch (295 MB for eight windows of base), are kept in float16
(``AUDIO_CACHE_DTYPE``); each step's logits stay within 5e-3 of whisper's float32 ones, and
the text was the same, token for token, on every recording it was measured on.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from pipeline.audio import floats, release

COMPRESSION_RATIO_LIMIT = 2.4  # whisper.transcribe's thresholds for a failed window
LOGPROB_LIMIT = -1.0
NO_SPEECH_LIMIT = 0.6
DECODED_ROOM = 32  # positions a decoded tokens' cache grows by when full
# The cross-attention's keys and values of a batch (8 windows of base: 295 MB in float32)
# are its largest buffer; float16 halves them (whisper's own type on a GPU). On
# bench/speed.py's and the held-out recording and on zh-tts-talk.flac: the same text,
# token for token, as float32, a little faster (BENCHMARKS.md, issue 17).
AUDIO_CACHE_DTYPE = "float16"
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)
# The screen of a step's logits (VocabularyScreen): the text tokens per row whose logits are
# computed again in float32 after the bfloat16 product picked them.
SCREENED_CANDIDATES = 32
BFLOAT16_ROUNDOFF = 2.0**-8  # unit roundoff of bfloat16's 8-bit significand (round to nearest)
FLOAT32_ROUNDOFF = 2.0**-24


def share_audio_across_beams(model: Any) -> None:
    """Let each decoder block's cross-attention take n_audio × beams queries against
    n_audio audio features (idempotent)."""
    for block in model.decoder.blocks:
        attention = block.cross_attn
        if getattr(attention, "shares_audio", False):
            continue
        attention.forward = _grouped(attention.forward)
        attention.shares_audio = True


def _grouped(forward: Any) -> Any:
    def grouped_forward(x: Any, xa: Any = None, mask: Any = None, kv_cache: Any = None) -> Any:
        """``forward`` with ``x`` of n_audio × beams rows regrouped as n_audio rows against ``xa``."""
        if xa is None or x.shape[0] == xa.shape[0]:
            return forward(x, xa, mask, kv_cache)
        batch, length, width = x.shape  # rows are window-major: beams of one window are adjacent
        out, qk = forward(x.reshape(xa.shape[0], -1, width), xa, mask, kv_cache)
        return out.reshape(batch, length, width), qk

    return grouped_forward


def decode_batch(model: Any, mel: Any, options: Any, screen_logits: bool = False) -> list[Any]:
    """whisper's ``decode`` for a batch of log-mel windows (n, n_mels, 3000), beams allowed.

    ``mel``: a tensor on the model's device (``window_mels``); ``options``: a
    ``whisper.DecodingOptions`` with its language set; ``screen_logits``: a beam search's
    logits through a ``VocabularyScreen`` (a float32 model on a CPU that multiplies
    bfloat16 natively). Returns one ``DecodingResult`` per window, in order, each the best
    of its beams by whisper's own sequence ranker."""
    import torch
    from whisper.decoding import BeamSearchDecoder, DecodingResult, DecodingTask, SuppressTokens

    share_audio_across_beams(model)  # for whisper's own decoding of a failed window
    n_audio = mel.shape[0]
    task = DecodingTask(model, options)
    screen = None
    if screen_logits and isinstance(task.decoder, BeamSearchDecoder):
        suppressed = [token for f in task.logit_filters if isinstance(f, SuppressTokens) for token in f.suppress_tokens]
        screen = VocabularyScreen(model.decoder, task.tokenizer.eot, suppressed, task.decoder.beam_size + 1)
    # beam search reorders the caches through it
    task.inference = task.decoder.inference = BatchInference(model, task.n_group, screen)
    task.decoder.reset()
    with torch.no_grad():
        # one window at a time through the encoder: as fast on a CPU as all at once, and
        # its attention scores (8 heads × 1500² floats a window) are not held for eight
        features = torch.cat([task._get_audio_features(mel[i : i + 1]) for i in range(n_audio)])
        tokens = torch.tensor([task.initial_tokens]).repeat(n_audio, 1)
        tokens = tokens.repeat_interleave(task.n_group, dim=0).to(features.device)
        if isinstance(task.decoder, BeamSearchDecoder):
            candidates, scores, no_speech_probs = _beam_search(task, features, tokens)
        else:
            tokens, sum_logprobs, no_speech_probs = _sample(task, features, tokens)
            tokens = tokens.reshape(n_audio, task.n_group, -1)
            candidates, scores = task.decoder.finalize(tokens, sum_logprobs.reshape(n_audio, task.n_group))
    eot = task.tokenizer.eot
    sequences = [[t[task.sample_begin : (t == eot).nonzero()[0, 0]] for t in group] for group in candidates]
    chosen = task.sequence_ranker.rank(sequences, scores)
    results = []
    for i, (group, best) in enumerate(zip(sequences, chosen, strict=True)):
        picked = group[best].tolist()
        text = task.tokenizer.decode([t for t in picked if t < eot]).strip()
        results.append(
            DecodingResult(
                audio_features=features[i],
                language=options.language,
                tokens=picked,
                text=text,
                avg_logprob=scores[i][best] / (len(picked) + 1),
                no_speech_prob=no_speech_probs[i * task.n_group],
                temperature=options.temperature,
                compression_ratio=compression_ratio(text),
            )
        )
    return results


class VocabularyScreen:
    """A decoding step's logits over the vocabulary, the text tokens' product with the token
    embedding taken in bfloat16 first, then in float32 for the few that can be chosen.

    A step's logits are (rows, 512) × (512, 51,865) for base: a quarter of the decoder's
    time on 2 cores in float32, reading 106 MB of weights a step. In bfloat16 the product
    reads half of that, and runs natively on a CPU with AMX or AVX512-BF16. Beam search
    only ever takes a row's best ``beam_size + 1`` tokens, so the bfloat16 logits are a
    screen: for each row the SCREENED_CANDIDATES best text tokens by it (the tokens the
    task always suppresses left out), and every token from end-of-text on (the timestamps,
    whose sum the timestamp rules weigh against the best text token), are computed again
    in float32 from the float32 weights. Where the ``needed``-th best of those text logits
    does not beat the highest float32 value the best one left could stand for
    (``highest``), every text token that could is computed in float32 too (a row
    "widened"). So the tokens beam search can pick, and the timestamp rules' choice, come
    from float32 logits; only the log-softmax's normaliser sums the other 50,000 text
    tokens' bfloat16 values. On the held-out recording of bench/speed.py the logits took
    3.1 s against 5.0 s in float32, 11% of the rows were widened, and nine recordings
    (English and Mandarin) came out the same, text and times, as in float32
    (BENCHMARKS.md, issue 17).

    ``decoder``: whisper's ``TextDecoder`` in float32; ``text_tokens``: the tokens before
    end-of-text (50,257 for the multilingual tokenizers); ``suppressed``: token ids the
    task's filters always set to minus infinity; ``needed``: the tokens a row's choice
    reads (beam size + 1, whisper's ``BeamSearchDecoder``). The bfloat16 copy of the text
    tokens' embedding (51 MB for base) is made once per decoder.
    """

    def __init__(self, decoder: Any, text_tokens: int, suppressed: list[int], needed: int) -> None:
        import torch

        weight = decoder.token_embedding.weight
        if getattr(decoder, "screen_weight", None) is None or decoder.screen_weight.shape[0] != text_tokens:
            with torch.no_grad():
                decoder.screen_weight = weight[:text_tokens].to(torch.bfloat16)
                decoder.screen_norm = float(weight[:text_tokens].norm(dim=1).max())
        self.weight, self.text_tokens, self.needed = weight, text_tokens, needed
        self.screen, self.largest_norm = decoder.screen_weight, decoder.screen_norm
        self.suppressed = [token for token in suppressed if 0 <= token < text_tokens]
        self.rows = self.widened = 0  # rows screened, and of them rows that needed more in float32

    def logits(self, x: Any) -> Any:
        """Float32 logits (rows, n_vocab) for ``x`` (rows, width), the decoder's output after
        its last layer norm: as described above, the suppressed text tokens already at
        minus infinity (their filter sets them so anyway)."""
        import torch

        text = self.text_tokens
        logits = torch.empty(x.shape[0], self.weight.shape[0], dtype=x.dtype, device=x.device)
        screened = logits[:, :text]
        screened.copy_(torch.nn.functional.linear(x.to(self.screen.dtype), self.screen))
        screened[:, self.suppressed] = float("-inf")
        best = screened.topk(SCREENED_CANDIDATES + 1, dim=-1)  # sorted: the last is the best left
        candidates, rest = best.indices[:, :-1], best.values[:, -1]  # (rows, candidates), (rows,)
        exact = torch.bmm(self.weight[candidates], x[:, :, None])[..., 0]
        screened.scatter_(1, candidates, exact)
        logits[:, text:] = x @ self.weight[text:].T
        needed = exact.topk(min(self.needed, exact.shape[1]), dim=-1).values[:, -1]
        products = self.products_bound(x)
        unsure = (needed <= self.highest(rest, products)).nonzero()[:, 0].tolist()
        for row in unsure:  # every token that could still be among the best: float32 too
            close = (self.highest(screened[row], products[row]) >= needed[row]).nonzero()[:, 0]
            screened[row, close] = self.weight[close] @ x[row]
        self.rows += x.shape[0]
        self.widened += len(unsure)
        return logits

    def products_bound(self, x: Any) -> Any:
        """How far the float32 sum of a text token's bfloat16 products can be from its
        float32 logit, per row of ``x`` (rows, width): both factors rounded to bfloat16
        (relative error 2u + u² a product), the sum in float32 (n u32 of the sum of the
        products' magnitudes), that sum bounded by ||x|| ||w|| (Cauchy-Schwarz) with the
        largest row norm of the text tokens' embedding. Higham, Accuracy and Stability of
        Numerical Algorithms (2002), §2.2 and §3.1."""
        u = BFLOAT16_ROUNDOFF
        per_product = 2 * u + u**2 + x.shape[-1] * FLOAT32_ROUNDOFF * (1 + u) ** 2
        return per_product * x.norm(dim=-1) * self.largest_norm

    @staticmethod
    def highest(screened: Any, products: Any) -> Any:
        """The highest float32 logit a bfloat16 one (``screened``) can stand for: that sum's
        rounding to bfloat16 (u/(1 - u) of it) and ``products_bound`` added. Rises with
        ``screened``, so the best logit left in bfloat16 bounds every one left."""
        u = BFLOAT16_ROUNDOFF
        return screened + screened.abs() * (u / (1 - u)) + products


def _beam_search(task: Any, features: Any, tokens: Any) -> tuple[list[list[Any]], list[list[float]], list[float]]:
    """whisper's ``DecodingTask._main_loop`` and ``BeamSearchDecoder.finalize`` for a batch,
    a window's beams leaving the batch once the window has all its candidates.

    ``features``: (n_audio, frames, width) audio features; ``tokens``: (n_audio × beams,
    initial length), window-major. Returns per window its candidate token sequences and
    their summed log-probabilities (as ``finalize``), and per row the no-speech probability
    at the first step. Each step's arithmetic per row is whisper's own; only the rows of
    finished windows are no longer computed."""
    decoder, inference, group = task.decoder, task.inference, task.n_group
    n_audio = features.shape[0]
    finished: list[dict[tuple[int, ...], float]] = [{} for _ in range(n_audio)]
    decoder.finished_sequences = list(finished)  # the same dicts: update fills them in place
    sum_logprobs = features.new_zeros(tokens.shape[0])
    active = list(range(n_audio))  # the windows still in the batch, in row order
    last_rows: list[tuple[Any, Any]] = [(None, None)] * n_audio  # tokens, sum_logprobs per window
    no_speech_probs = [float("nan")] * tokens.shape[0]
    update = functools.partial(_beam_update, decoder)
    try:
        for step in range(task.sample_len):
            tokens, done, at_sot = _step(task, step, tokens, features, sum_logprobs, update)
            no_speech_probs = at_sot or no_speech_probs
            if done:
                break
            keep = [k for k, window in enumerate(active) if len(finished[window]) < decoder.max_candidates]
            if len(keep) == len(active):
                continue
            for k, window in enumerate(active):
                if k not in keep:
                    last_rows[window] = (tokens[k * group : (k + 1) * group], sum_logprobs[k * group : (k + 1) * group])
            rows = _index([k * group + j for k in keep for j in range(group)], tokens.device)
            windows = _index(keep, tokens.device)
            tokens, sum_logprobs = tokens[rows], sum_logprobs[rows]
            inference.keep(rows, windows)
            active = [active[k] for k in keep]
            decoder.finished_sequences = [finished[window] for window in active]
    finally:
        inference.cleanup_caching()
    for k, window in enumerate(active):  # the windows still in the batch at the end
        last_rows[window] = (tokens[k * group : (k + 1) * group], sum_logprobs[k * group : (k + 1) * group])
    candidates: list[list[Any]] = []
    scores: list[list[float]] = []
    for window in range(n_audio):
        decoder.finished_sequences = [finished[window]]
        window_tokens, window_logprobs = last_rows[window]
        found, found_scores = decoder.finalize(window_tokens[None], window_logprobs[None])
        candidates += found
        scores += found_scores
    return candidates, scores, no_speech_probs


def _sample(task: Any, features: Any, tokens: Any) -> tuple[Any, Any, list[float]]:
    """whisper's ``DecodingTask._main_loop`` (greedy, or sampling at a temperature; every
    row to the end), step by step (``_step``): the tokens, their summed
    log-probabilities and the no-speech probabilities, per row."""
    sum_logprobs = features.new_zeros(tokens.shape[0])
    no_speech_probs = [float("nan")] * tokens.shape[0]
    try:
        for step in range(task.sample_len):
            tokens, done, at_sot = _step(task, step, tokens, features, sum_logprobs, task.decoder.update)
            no_speech_probs = at_sot or no_speech_probs
            if done:
                break
    finally:
        task.inference.cleanup_caching()
    return tokens, sum_logprobs, no_speech_probs


def _step(
    task: Any, step: int, tokens: Any, features: Any, sum_logprobs: Any, update: Callable[..., tuple[Any, bool]]
) -> tuple[Any, bool, list[float] | None]:
    """One decoding step, as whisper's ``DecodingTask._main_loop`` takes it: the logits at
    each row's last token (``task.inference``, a ``BatchInference``), the task's logit
    filters, then the decoder's choice through ``update`` (tokens, logits, sum_logprobs:
    the decoder's ``update`` or ``_beam_update``; ``sum_logprobs`` updated in place). Returns the
    tokens, whether decoding is done (every row ended, or the context is full), and at
    the first step each row's no-speech probability (None after it, or for a tokenizer
    without the token)."""
    at_sot = None
    if step:
        logits = task.inference.logits(tokens)
    else:
        first, logits = task.inference.first_step(tokens, features, task.sot_index)
        if task.tokenizer.no_speech is not None:
            at_sot = first.float().softmax(dim=-1)[:, task.tokenizer.no_speech].tolist()
    for logit_filter in task.logit_filters:
        logit_filter.apply(logits, tokens)
    tokens, completed = update(tokens, logits, sum_logprobs)
    return tokens, completed or tokens.shape[-1] > task.n_ctx, at_sot


def _beam_update(decoder: Any, tokens: Any, logits: Any, sum_logprobs: Any) -> tuple[Any, bool]:
    """whisper's ``BeamSearchDecoder.update`` (openai-whisper 20250625), the same choices
    without its Python loop over every beam's candidates, which turned each beam's tokens
    into a list and each candidate into a tuple key (4.1 ms a step of 40 beams, 8% of a
    transcription's time on 2 cores).

    ``tokens``: (windows × beams, length), window-major; ``logits``: (rows, n_vocab) after
    the filters; ``sum_logprobs``: (rows,), updated in place. Each row's ``beam_size + 1``
    best tokens are the candidates, in whisper's order (beam by beam, then best first); a
    window's candidates are ranked by their summed log-probability, a stable sort as
    Python's ``sorted`` is; those ending in end-of-text, ranked above the window's
    ``beam_size``-th kept one, are its finished sequences. When two beams of a window are
    the same sequence (the first step: every beam is the initial tokens), whisper's
    dictionary merges their candidates: that step is whisper's own ``update``. Returns the
    tokens (rows, length + 1) and whether every window has its candidates."""
    import torch

    beams = decoder.beam_size
    rows, length = tokens.shape
    windows = rows // beams
    by_window = tokens.view(windows, beams, 1, length)
    twins = (by_window == by_window.transpose(1, 2)).all(dim=-1).sum() > rows  # beyond each beam with itself
    if rows % beams or decoder.finished_sequences is None or twins:
        return decoder.update(tokens, logits, sum_logprobs)
    best = torch.log_softmax(logits.float(), dim=-1).topk(beams + 1)
    scores = (sum_logprobs[:, None] + best.values).view(windows, -1)  # float32, as whisper adds them
    ranked = scores.sort(dim=-1, descending=True, stable=True).indices.tolist()
    scores, candidates = scores.tolist(), best.indices.view(windows, -1).tolist()
    kept_rows, kept_tokens, kept_scores, newly_finished = [], [], [], []
    for window in range(windows):
        finished: dict[tuple[int, ...], float] = {}
        saved = 0
        for k in ranked[window]:
            row, token = window * beams + k // (beams + 1), candidates[window][k]
            if token == decoder.eot:
                finished[(*tokens[row].tolist(), token)] = scores[window][k]
                continue
            kept_rows.append(row)
            kept_tokens.append(token)
            kept_scores.append(scores[window][k])
            saved += 1
            if saved == beams:
                break
        newly_finished.append(finished)
    sources = torch.tensor(kept_rows, dtype=torch.long, device=tokens.device)
    next_tokens = torch.tensor(kept_tokens, dtype=tokens.dtype, device=tokens.device)[:, None]
    sum_logprobs.copy_(torch.tensor(kept_scores, dtype=sum_logprobs.dtype, device=sum_logprobs.device))
    tokens = torch.cat([tokens[sources], next_tokens], dim=-1)
    decoder.inference.rearrange_kv_cache(kept_rows)
    for previously, new in zip(decoder.finished_sequences, newly_finished, strict=True):
        for sequence in sorted(new, key=new.get, reverse=True):
            if len(previously) >= decoder.max_candidates:
                break  # the candidate list is full
            previously[sequence] = new[sequence]
    return tokens, all(len(sequences) >= decoder.max_candidates for sequences in decoder.finished_sequences)


class BatchInference:
    """whisper's ``PyTorchInference`` for a batch of windows decoded side by side: what the
    decoder keeps between steps, and one step of it.

    Per decoder block it keeps the cross-attention's keys and values (windows, heads, 1500,
    width / heads) in ``AUDIO_CACHE_DTYPE``, the self-attention's of the initial tokens
    (windows, heads, initial length, width / heads): the same for a window's beams, kept
    once; and those of the tokens decoded since (rows, heads, capacity, width / heads), a
    row a beam, window-major (a window's ``group`` beams adjacent). Head-major and
    contiguous, each step's matmuls read them as they are (laid out as whisper's, they were
    copied at every step). Each step is the arithmetic of whisper's ``TextDecoder.forward``
    (openai-whisper 20250625) with these caches in place of its hooks: same weights, same
    order of operations but for the self-attention's softmax, taken over the two caches
    side by side, and the cross-attention's keys and values rounded to float16."""

    def __init__(self, model: Any, group: int, screen: VocabularyScreen | None = None) -> None:
        self.model, self.group, self.screen = model, group, screen
        self.audio: list[tuple[Any, Any]] = []  # per block: cross-attention keys, values
        self.initial: list[tuple[Any, Any]] = []  # per block: the initial tokens' keys, values
        # per block: the decoded tokens' keys and values, a row a beam, in buffers of room for
        # more (rows, heads, capacity, size) of which the first ``length`` positions are kept;
        # and one spare pair the same size that a reorder fills and swaps in
        self.decoded: list[tuple[Any, Any]] = []
        self.spare: tuple[Any, ...] = ()
        self.length = 0

    def first_step(self, tokens: Any, features: Any, sot_index: int) -> tuple[Any, Any]:
        """The logits at the start-of-transcript token and at the last initial token,
        (rows, n_vocab) each, for ``tokens`` (rows, initial length), the caches filled.

        whisper runs the initial tokens through the decoder once per beam and projects every
        position onto the 51,865 tokens; with a prompt of names (up to 223 tokens) that was
        40 rows × 150 positions of logits for a batch of eight windows, 1.2 GB and 13-15 s
        on 2 busy cores, for two rows' worth of use. Here the decoder runs once per window
        (``features``: (windows, 1500, width)) and projects two positions, through
        whisper's own blocks and kv-cache hooks, a window at a time: its hooks keep the
        cross-attention's keys and values in float32 (37 MB a window of base), moved into
        the batch's ``AUDIO_CACHE_DTYPE`` buffers before the next window's are made (the
        whole batch's at once were 295 MB more at the peak)."""
        import torch

        decoder = self.model.decoder
        windows, frames, width = features.shape
        heads = decoder.blocks[0].attn.n_head
        initial = tokens.shape[1]

        def empty(length: int, dtype: Any) -> Any:
            return torch.empty(windows, heads, length, width // heads, dtype=dtype, device=features.device)

        audio = _dtype(AUDIO_CACHE_DTYPE)
        self.audio = [(empty(frames, audio), empty(frames, audio)) for _ in decoder.blocks]
        self.initial = [(empty(initial, features.dtype), empty(initial, features.dtype)) for _ in decoder.blocks]
        ends = []
        for window in range(windows):
            cache, hooks = self.model.install_kv_cache_hooks()
            try:  # a window's beams are the same here: its first row stands for them
                x = _hidden(decoder, tokens[window * self.group][None], features[window][None], cache)
            finally:
                for hook in hooks:
                    hook.remove()
            ends.append(x[:, [sot_index, -1]])
            for block, (audio_keys, audio_values), (keys, values) in zip(
                decoder.blocks, self.audio, self.initial, strict=True
            ):
                for module, buffer in ((block.cross_attn.key, audio_keys), (block.cross_attn.value, audio_values),
                                       (block.attn.key, keys), (block.attn.value, values)):  # fmt: skip
                    buffer[window] = _by_head(cache.pop(module), heads)[0]
        logits = vocabulary_logits(decoder, decoder.ln(torch.cat(ends))).repeat_interleave(self.group, dim=0)
        return logits[:, 0], logits[:, 1]

    def logits(self, tokens: Any) -> Any:
        """The logits (rows, n_vocab) after each row's last token of ``tokens`` (rows,
        length); that token's keys and values join the caches."""
        decoder = self.model.decoder
        x = _embedded(decoder, tokens[:, -1:], self.initial[0][0].shape[2] + self.length, self.initial[0][0].dtype)
        if not self.decoded or self.decoded[0][0].shape[2] == self.length:
            self._make_room(x.shape[0], decoder.blocks[0].attn.n_head, x.shape[-1], x.dtype)
        for index, block in enumerate(decoder.blocks):
            x = x + self._self_attention(index, block.attn, block.attn_ln(x))
            x = x + _cross_attention(block.cross_attn, block.cross_attn_ln(x), *self.audio[index])
            x = x + block.mlp(block.mlp_ln(x))
        self.length += 1
        if self.screen is not None:
            return self.screen.logits(decoder.ln(x)[:, -1])
        return vocabulary_logits(decoder, decoder.ln(x))[:, -1]

    def _make_room(self, rows: int, heads: int, width: int, dtype: Any) -> None:
        """Buffers DECODED_ROOM positions longer than the decoded tokens' (the first ones or
        each one full), the kept positions copied: a step writes its token's keys and values
        in place, so the decoded tokens' caches are not a new, longer tensor every step
        (which the C heap keeps growing for, a batch long)."""
        import torch

        capacity = self.length + DECODED_ROOM

        def room(old: Any | None) -> Any:
            new = torch.empty(rows, heads, capacity, width // heads, dtype=dtype, device=self.audio[0][0].device)
            if old is not None:
                new[:, :, : self.length] = old[:, :, : self.length]
            return new

        before: list[tuple[Any, Any]] = self.decoded or [(None, None)] * len(self.audio)
        self.decoded, self.spare = [], ()  # the spare let go first, each block's old pair after its copy
        for index in range(len(before)):
            (keys, values), before[index] = before[index], (None, None)
            self.decoded.append((room(keys), room(values)))
        self.spare = (room(None), room(None))

    def _self_attention(self, index: int, attention: Any, x: Any) -> Any:
        """whisper's ``MultiHeadAttention.forward`` for one new position a row (x: (rows, 1,
        width)) against the initial tokens' keys (a row a window) and the decoded ones'."""
        import torch

        rows, _, width = x.shape
        heads, windows = attention.n_head, rows // self.group
        size = width // heads
        keys, values = self.decoded[index]
        position = self.length
        keys[:, :, position] = attention.key(x).view(rows, heads, size)
        values[:, :, position] = attention.value(x).view(rows, heads, size)
        keys, values = keys[:, :, : position + 1], values[:, :, : position + 1]  # views, not copies
        # (windows, heads, beams, size): a window's beams are one block of queries
        query = attention.query(x).view(windows, self.group, heads, size).transpose(1, 2) * size**-0.5
        initial_keys, initial_values = self.initial[index]
        scores_initial = query @ initial_keys.transpose(-1, -2)  # (windows, heads, beams, initial)
        by_row = query.transpose(1, 2).reshape(rows, heads, 1, size)
        scores_decoded = (by_row @ keys.transpose(-1, -2)).view(windows, self.group, heads, -1).transpose(1, 2)
        weights = torch.cat([scores_initial, scores_decoded], dim=-1).softmax(dim=-1)
        split = initial_keys.shape[2]
        out = (weights[..., :split] @ initial_values).transpose(1, 2).reshape(rows, 1, width)
        decoded_weights = weights[..., split:].transpose(1, 2).reshape(rows, heads, 1, -1)
        out = out + (decoded_weights @ values).transpose(1, 2).reshape(rows, 1, width)
        return attention.out(out)

    def rearrange_kv_cache(self, source_indices: list[int]) -> None:
        """The decoded tokens' keys and values reordered as the beam search chose its beams
        (``source_indices``: a source row per row, within the row's window). Each block's
        pair is gathered into the spare pair, which takes its place; the block's old pair is
        the spare for the next block (one spare pair for all blocks, not one each: 126 MB
        less for 40 beams at 128 positions)."""
        import torch

        if source_indices == list(range(len(source_indices))) or not self.decoded:
            return
        rows = _index(source_indices, self.decoded[0][0].device)
        kept = slice(0, self.length)
        for index, cached in enumerate(self.decoded):
            for old, new in zip(cached, self.spare, strict=True):
                torch.index_select(old[:, :, kept], 0, rows, out=new[:, :, kept])
            self.decoded[index], self.spare = self.spare, cached

    def keep(self, rows: Any, windows: Any) -> None:
        """Only ``rows`` (a tensor of row indices) and ``windows`` (of their windows) go on.
        Block by block: one block's copy at a time is the memory this takes beyond the
        caches (the cross-attention's of a whole batch at once was 250 MB more)."""
        for caches, which in ((self.decoded, rows), (self.initial, windows), (self.audio, windows)):
            for index, (keys, values) in enumerate(caches):
                caches[index] = (keys[which], values[which])
        self.spare = ()  # let go before the new pair is made
        self.spare = tuple(buffer.new_empty(buffer.shape) for buffer in self.decoded[0])

    def cleanup_caching(self) -> None:
        """Let go of every cache (whisper's name)."""
        self.audio, self.initial, self.decoded, self.spare = [], [], [], ()
        self.length = 0


def _dtype(name: str) -> Any:
    """The torch dtype called ``name`` ("float16", "float32")."""
    import torch

    return getattr(torch, name)


def _by_head(t: Any, heads: int) -> Any:
    """``t`` (rows, positions, width) seen as (rows, heads, positions, width / heads): a view,
    copied by whatever it is written into."""
    rows, positions, width = t.shape
    return t.view(rows, positions, heads, width // heads).transpose(1, 2)


def _cross_attention(attention: Any, x: Any, keys: Any, values: Any) -> Any:
    """whisper's ``MultiHeadAttention.forward`` for cross-attention, ``x`` (windows × beams,
    positions, width) regrouped as one block of queries a window against its ``keys`` and
    ``values`` (windows, heads, 1500, width / heads): the arithmetic of
    ``share_audio_across_beams``."""
    from torch.nn.functional import scaled_dot_product_attention

    rows, length, width = x.shape
    windows, heads = keys.shape[0], attention.n_head
    query = attention.query(x).reshape(windows, -1, heads, width // heads).transpose(1, 2).to(keys.dtype)
    out = scaled_dot_product_attention(query, keys, values).to(x.dtype)
    return attention.out(out.transpose(1, 2).reshape(rows, length, width))


def _hidden(decoder: Any, tokens: Any, features: Any, kv_cache: dict[Any, Any] | None) -> Any:
    """whisper's ``TextDecoder.forward`` (openai-whisper 20250625) up to its last layer
    norm: ``tokens`` (rows, positions) after those in ``kv_cache`` through every block,
    against ``features`` (rows or windows, 1500, width). Returns (rows, positions, width)."""
    offset = next(iter(kv_cache.values())).shape[1] if kv_cache else 0
    x = _embedded(decoder, tokens, offset, features.dtype)
    for block in decoder.blocks:
        x = block(x, features, mask=decoder.mask, kv_cache=kv_cache)
    return x


def _embedded(decoder: Any, tokens: Any, offset: int, dtype: Any) -> Any:
    """``tokens`` (rows, positions) as whisper's decoder embeds them, the first at position
    ``offset`` (after the cached ones): (rows, positions, width) in ``dtype``."""
    x = decoder.token_embedding(tokens) + decoder.positional_embedding[offset : offset + tokens.shape[-1]]
    return x.to(dtype)


def vocabulary_logits(decoder: Any, x: Any) -> Any:
    """``x`` (rows, positions, width) after the decoder's last layer norm, projected onto the
    vocabulary: float32 logits (rows, positions, n_vocab). Through the decoder's int8
    ``vocabulary_projection`` when it has one (engines.quantize_int8), else as whisper
    does (a matmul by the token embedding's transpose)."""
    projection = getattr(decoder, "vocabulary_projection", None)
    if projection is not None:
        return projection(x).float()
    return (x @ decoder.token_embedding.weight.to(x.dtype).T).float()


def project_with_layer(decoder: Any) -> None:
    """Make ``decoder`` (a whisper ``TextDecoder`` given a ``vocabulary_projection``) use it
    for its logits at every step, whisper's own calls (fallback passes, language
    detection) included."""

    def forward(x: Any, xa: Any, kv_cache: dict[Any, Any] | None = None) -> Any:
        return vocabulary_logits(decoder, decoder.ln(_hidden(decoder, x, xa, kv_cache)))

    decoder.forward = forward


def _index(positions: list[int], device: Any) -> Any:
    """``positions`` as a tensor of row indices on ``device``."""
    import torch

    return torch.tensor(positions, dtype=torch.long, device=device)


def decode_windows(
    model: Any,
    samples: np.ndarray,
    spans: list[tuple[float, float]],
    options: Any,
    sample_rate: int,
    best_of: int | None = 5,
    screen_logits: bool = False,
) -> list[list[dict[str, Any]]]:
    """The segments of each span (seconds of ``samples``), the spans decoded side by side.

    As in whisper.transcribe, a window that failed (repetitive, or unsure) is decoded again
    at rising temperatures (sampling ``best_of`` candidates), and a window without speech
    gives no segments.

    ``samples``: mono, int16 or float32, shape (samples,), at ``sample_rate`` (16 kHz, what
    whisper's log-mel expects); ``spans``: (start, end) seconds, each at most 30 s;
    ``screen_logits``: as ``decode_batch``.
    Returns per span a list of segment dicts: start and end in seconds of the recording,
    text, avg_logprob, no_speech_prob, compression_ratio, temperature."""
    import dataclasses

    import whisper

    tokenizer = whisper.tokenizer.get_tokenizer(
        model.is_multilingual, num_languages=model.num_languages, language=options.language, task="transcribe"
    )
    mel = window_mels(model, samples, spans, sample_rate)
    found = []
    results = decode_batch(model, mel, options, screen_logits)
    for row, ((start, end), result) in enumerate(zip(spans, results, strict=True)):
        for temperature in FALLBACK_TEMPERATURES:
            if not failed(result):
                break
            again = dataclasses.replace(options, temperature=temperature, beam_size=None, best_of=best_of)
            result = whisper.decode(model, mel[row], again)
        found.append([] if silent(result) else segments(result, tokenizer, start, end - start))
    return found


def compression_ratio(text: str) -> float:
    """How well ``text``'s UTF-8 bytes compress with zlib (whisper's ``utils.compression_ratio``;
    over 2.4 is taken as repetitive); 0 for empty text."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def failed(result: Any) -> bool:
    """whisper.transcribe's test for a window to decode again at a higher temperature."""
    return (result.compression_ratio > COMPRESSION_RATIO_LIMIT or result.avg_logprob < LOGPROB_LIMIT) and not silent(
        result
    )


def silent(result: Any) -> bool:
    """whisper.transcribe's test for a window without speech (its text is dropped)."""
    return result.no_speech_prob > NO_SPEECH_LIMIT and result.avg_logprob < LOGPROB_LIMIT


def segments(result: Any, tokenizer: Any, offset: float, duration: float) -> list[dict[str, Any]]:
    """A window's tokens as segments between timestamp tokens, in seconds of the recording.

    ``offset``: the window's start in the recording, seconds; ``duration``: its length in
    seconds, which no time exceeds. Timestamp tokens are 0.02 s apart (whisper's time
    precision); text after the last one ends at ``duration``."""
    begin = tokenizer.timestamp_begin
    found: list[dict[str, Any]] = []
    start: float | None = None
    words: list[int] = []

    def close(end: float) -> None:
        """Keep the words so far as a segment ending ``end`` seconds into the window."""
        text = tokenizer.decode(words).strip()
        if text:
            first = min(start if start is not None else 0.0, end)
            found.append(
                {
                    "start": offset + first,
                    "end": offset + end,
                    "text": text,
                    "avg_logprob": result.avg_logprob,
                    "no_speech_prob": result.no_speech_prob,
                    "compression_ratio": result.compression_ratio,
                    "temperature": result.temperature,
                }
            )

    for token in result.tokens:
        if token >= begin:
            time = min((token - begin) * 0.02, duration)
            if words:
                close(time)
                words, start = [], None
            else:
                start = time
        elif token < tokenizer.eot:
            words.append(token)
    if words:
        close(duration)
    return found


def window_mels(model: Any, samples: np.ndarray, spans: list[tuple[float, float]], sample_rate: int) -> Any:
    """Log-mel spectrograms of the spans, stacked: a tensor (len(spans), n_mels, 3000) on
    the model's device. As in whisper.transcribe, a short window is padded with zeros after
    the spectrogram is taken (not with silent samples before); samples past 30 s are cut."""
    import torch
    import whisper

    mels = []
    for start, end in spans:
        piece = floats(samples[int(start * sample_rate) : int(end * sample_rate)])
        mel = whisper.log_mel_spectrogram(piece[: whisper.audio.N_SAMPLES], model.dims.n_mels)
        mels.append(whisper.pad_or_trim(mel, whisper.audio.N_FRAMES))
    release(samples)
    return torch.stack(mels).to(model.device)
