"""Token decoder sampling rules and the padding-invariant sequence encoder."""

import pytest
import torch

from condgen.nn.sequence import BOS_ID, EOS_ID, PAD_ID, UNK_ID, SequenceEncoder, TokenDecoder, token_nll


def test_samples_are_framed_and_never_hold_special_tokens():
    torch.manual_seed(0)
    decoder = TokenDecoder(vocab_size=12, embedding_dim=8, hidden=16, layers=2, condition_dim=4)
    condition = torch.randn(64, 4)
    ids = decoder.sample(64, 20, condition, temperature=1.5, generator=torch.Generator().manual_seed(0))
    assert ids.shape == (64, 20) and (ids[:, 0] == BOS_ID).all()
    assert (ids[:, 1] != EOS_ID).all()  # never an empty molecule
    for row in ids.tolist():
        end = row.index(EOS_ID) if EOS_ID in row else len(row)
        body = row[1:end]
        assert not {PAD_ID, BOS_ID, UNK_ID} & set(body)
        assert set(row[end + 1:]) <= {PAD_ID}
    again = decoder.sample(64, 20, condition, temperature=1.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ids, again)
    greedy = decoder.sample(64, 20, condition, temperature=0)
    assert torch.equal(greedy, decoder.sample(64, 20, condition, temperature=0))


def test_a_prefix_is_kept_and_only_the_rest_is_drawn():
    decoder = TokenDecoder(vocab_size=10, embedding_dim=8, hidden=16, layers=1, cell="lstm")
    prefix = torch.tensor([[BOS_ID, 5, 6], [BOS_ID, 7, EOS_ID]])
    ids = decoder.sample(2, 8, prefix=prefix, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ids[:, :3], prefix)
    assert (ids[1, 3:] == PAD_ID).all()  # already finished


def test_encoder_ignores_padding_and_nll_ignores_pad_targets():
    torch.manual_seed(0)
    encoder = SequenceEncoder(vocab_size=10, embedding_dim=8, hidden=16)
    short = torch.tensor([[BOS_ID, 5, 6, EOS_ID]])
    padded = torch.cat([short, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    assert torch.allclose(encoder(short), encoder(padded), atol=1e-6)
    logits = torch.randn(1, 4, 10)
    targets = torch.tensor([[5, 6, EOS_ID, PAD_ID]])
    expected = -torch.log_softmax(logits, dim=2)[0, [0, 1, 2], [5, 6, EOS_ID]].sum()
    assert torch.allclose(token_nll(logits, targets), expected.unsqueeze(0))


def _sequence_log_prob(decoder, condition, row):
    """log p(row) under ``decoder`` with sampling's support (never-drawn tokens masked, no empty sequence)."""
    from condgen.nn.sequence import mask_never_drawn

    ids = torch.tensor([row])
    logits = mask_never_drawn(decoder.teacher_forced_logits(ids, condition))
    logits[:, 0, EOS_ID] = float("-inf")
    log_p = torch.log_softmax(logits, dim=2)[0, torch.arange(len(row) - 1), ids[0, 1:]]
    return log_p[ids[0, 1:] != PAD_ID].sum().item()


def test_beam_search_of_width_one_is_greedy_and_a_wide_beam_finds_the_most_likely_sequence():
    import itertools

    torch.manual_seed(3)
    # Tokens: 4 specials + 2 symbols, sequences of at most 3 symbols: few enough to enumerate all.
    decoder = TokenDecoder(vocab_size=6, embedding_dim=4, hidden=8, layers=1, condition_dim=2)
    with torch.no_grad():
        decoder.output.bias[EOS_ID] -= 1.0  # prefer longer sequences, so greedy is not trivially best
    condition, length = torch.randn(16, 2), 5
    greedy = decoder.sample(16, length, condition, temperature=0)
    assert torch.equal(decoder.beam_search(condition, length, beam_width=1), greedy)
    best = decoder.beam_search(condition, length, beam_width=20)
    candidates = [[BOS_ID, *body, EOS_ID] + [PAD_ID] * (length - 2 - len(body))
                  for size in (1, 2, 3) for body in itertools.product((4, 5), repeat=size)]
    candidates += [[BOS_ID, *body] for body in itertools.product((4, 5), repeat=4)]  # truncated at max_length
    with torch.no_grad():
        for row in range(16):
            scores = [_sequence_log_prob(decoder, condition[row:row + 1], c) for c in candidates]
            found = _sequence_log_prob(decoder, condition[row:row + 1], best[row].tolist())
            assert found == pytest.approx(max(scores), abs=1e-5)
            assert found >= _sequence_log_prob(decoder, condition[row:row + 1], greedy[row].tolist()) - 1e-6


def test_beam_candidates_are_distinct_and_ordered_most_likely_first():
    torch.manual_seed(4)
    decoder = TokenDecoder(vocab_size=6, embedding_dim=4, hidden=8, layers=1, condition_dim=2)
    condition, length = torch.randn(6, 2), 5
    candidates = decoder.beam_candidates(condition, length, beam_width=4)
    assert candidates.shape == (6, 4, length)
    assert torch.equal(candidates[:, 0], decoder.beam_search(condition, length, beam_width=4))
    with torch.no_grad():
        for row in range(6):
            scores = [_sequence_log_prob(decoder, condition[row:row + 1], c.tolist()) for c in candidates[row]]
            assert scores == sorted(scores, reverse=True)
            assert len({tuple(c.tolist()) for c in candidates[row]}) == 4
