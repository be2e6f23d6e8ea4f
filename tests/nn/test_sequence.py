"""Token decoder sampling rules and the padding-invariant sequence encoder."""

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
