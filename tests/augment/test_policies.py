"""Policies: identity, crop + flip, random sequences, learned; end models train with any of them."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.augment import (
    POLICIES,
    TF,
    AbstractAugmentPolicy,
    ChainPolicy,
    CropFlipPolicy,
    IdentityPolicy,
    MeanFieldGenerator,
    RandomSequencePolicy,
    Tanda,
    TandaPolicy,
    TFSet,
    make_policy,
)
from wsbench.augment import tfs as T
from wsbench.endmodels import CNN, MLP, LogisticRegression


def _imgs(key, n=4, hw=6, c=3):
    return jr.uniform(key, (n, hw, hw, c))


def test_identity_policy(key):
    x = _imgs(key)
    assert IdentityPolicy()(x, key=key) is x


def test_crop_flip_outputs_a_shifted_window_of_the_padded_image(key):
    x = _imgs(key, n=6)
    y = jax.jit(lambda x, k: CropFlipPolicy(pad=2)(x, key=k))(x, key)
    assert y.shape == x.shape
    for b in range(6):
        padded = np.pad(np.asarray(x[b]), ((2, 2), (2, 2), (0, 0)))
        cands = [
            w
            for oy in range(5)
            for ox in range(5)
            for w in (padded[oy : oy + 6, ox : ox + 6], padded[oy : oy + 6, ox : ox + 6][:, ::-1])
        ]
        assert any(np.allclose(y[b], c) for c in cands)
    np.testing.assert_array_equal(CropFlipPolicy(pad=0, flip=False)(x, key=key), x)
    with pytest.raises(ValueError, match="B, H, W, C"):
        CropFlipPolicy()(x[0], key=key)


def test_random_sequence_policy(key):
    tfs = TFSet((TF("flip", T.flip_lr), TF("dark", T.brightness, {"factor": 0.5})))
    x = _imgs(key, n=64)
    pol = RandomSequencePolicy(tfs=tfs, seq_len=2)
    y = jax.jit(lambda x, k: pol(x, key=k))(x, key)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, pol(x, key=key))  # deterministic per key
    # every output is one of the 4 compositions; each TF is used
    ratio = np.asarray(y.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3)))
    assert set(np.round(ratio, 3)) <= {1.0, 0.5, 0.25}
    assert len(set(np.round(ratio, 3))) == 3
    only_id = RandomSequencePolicy(tfs=TFSet((TF("id", T.identity),)), seq_len=3)
    np.testing.assert_array_equal(only_id(x, key=key), x)


def test_tanda_policy_follows_the_generator(key):
    tfs = TFSet((TF("id", T.identity), TF("dark", T.brightness, {"factor": 0.5})))
    gen = eqx.tree_at(lambda g: g.raw_logits, MeanFieldGenerator(2, 1), jnp.array([100.0, -100.0]))
    pol = TandaPolicy(tfs=tfs, generator=gen)
    x = _imgs(key, n=200)
    frac_dark = float(
        np.mean(np.asarray(pol(x, key=key).sum(axis=(1, 2, 3)) < x.sum(axis=(1, 2, 3)) - 1e-3))
    )
    p_dark = float(gen.probs()[1])  # squashed logits keep it > 0
    assert frac_dark <= max(0.05, 5 * p_dark)
    with pytest.raises(ValueError, match="n_tfs"):
        TandaPolicy(tfs=tfs, generator=MeanFieldGenerator(3, 1))


def test_make_policy_names(key):
    assert POLICIES == ("none", "basic", "heuristic", "mean_field", "lstm")
    assert isinstance(make_policy("none", key=key)[0], IdentityPolicy)
    assert isinstance(make_policy("basic", key=key)[0], CropFlipPolicy)
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("autoaugment", key=key)
    with pytest.raises(ValueError, match="TF set"):
        make_policy("heuristic", key=key)
    with pytest.raises(ValueError, match="x_unlabeled"):
        make_policy("lstm", tfs=TFSet((TF("id", T.identity),)), key=key)


def test_make_policy_builds_the_generator_it_is_given(key):
    tfs = TFSet((TF("id", T.identity), TF("flip", T.flip_lr)))
    x = _imgs(key, n=8)
    tanda = Tanda(tfs=tfs, n_steps=1, batch_size=4)
    for name, kwargs in (
        ("mean_field", {"logit_range": 1.5}),
        ("lstm", {"logit_range": 3.0, "hidden": 5}),
    ):
        policy, _ = make_policy(
            name, tfs=tfs, x_unlabeled=x, tanda=tanda, disc_width=2, generator=kwargs, key=key
        )
        gen = policy.generator
        assert gen.logit_range == kwargs["logit_range"]
        assert getattr(gen, "hidden", 5) == 5
    default, _ = make_policy("lstm", tfs=tfs, x_unlabeled=x, tanda=tanda, disc_width=2, key=key)
    assert default.generator.logit_range == 2.0 and default.generator.hidden == 32


def test_runner_passes_each_learned_policy_its_generator_config():
    from hydra import compose, initialize_config_dir

    from tests._utils import CONF
    from wsbench.run import tanda

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("tanda", overrides=["generator.lstm.hidden=7"])
    assert tanda._generator_kwargs(cfg, "lstm") == {"logit_range": 2.0, "hidden": 7, "embed": 16}
    assert tanda._generator_kwargs(cfg, "mean_field") == {"logit_range": 4.0}
    assert tanda._generator_kwargs(cfg, "heuristic") is None
    base = Tanda(tfs=TFSet((TF("id", T.identity),)), g_lr=0.01)
    assert tanda._tanda_for(base, cfg, "mean_field") is base  # lr: null -> tanda.g_lr
    own = tanda._tanda_for(base, cfg, "lstm")  # the LSTM's own default rate
    assert own.g_lr == 0.001 and own.d_lr == base.d_lr and own.n_steps == base.n_steps
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("tanda", overrides=["generator.lstm.lr=null", "generator.mean_field.lr=0.02"])
    assert tanda._tanda_for(base, cfg, "lstm") is base
    assert tanda._tanda_for(base, cfg, "mean_field").g_lr == 0.02
    assert tanda._generator_kwargs(cfg, "lstm") == {"logit_range": 2.0, "hidden": 32, "embed": 16}


def test_chain_policy_applies_its_policies_in_order(key):
    tfs = TFSet((TF("dark", T.brightness, {"factor": 0.5}),))
    x = _imgs(key, n=8)
    crop = CropFlipPolicy(pad=2)
    chain = ChainPolicy((RandomSequencePolicy(tfs=tfs, seq_len=1), crop))
    y = jax.jit(lambda x, k: chain(x, key=k))(x, key)
    _, k_crop = jr.split(key)  # the chain's second key goes to the crop
    np.testing.assert_allclose(y, crop(0.5 * x, key=k_crop), rtol=1e-6)
    np.testing.assert_array_equal(y, chain(x, key=key))  # deterministic per key
    with pytest.raises(ValueError, match="at least one"):
        ChainPolicy(())
    with pytest.raises(TypeError, match="AbstractAugmentPolicy"):
        ChainPolicy((crop, lambda x, *, key: x))


def test_then_basic_crops_after_the_tf_sequence_of_heuristic_and_learned_policies(key):
    tfs = TFSet((TF("id", T.identity),))
    x = _imgs(key, n=16, hw=8)
    plain, _ = make_policy("heuristic", tfs=tfs, key=key)
    assert isinstance(plain, RandomSequencePolicy)
    chained, _ = make_policy("heuristic", tfs=tfs, basic_pad=3, then_basic=True, key=key)
    assert isinstance(chained, ChainPolicy)
    assert isinstance(chained.policies[1], CropFlipPolicy) and chained.policies[1].pad == 3
    np.testing.assert_array_equal(plain(x, key=key), x)  # the identity TF alone
    assert not np.allclose(chained(x, key=key), x)  # ... now shifted / mirrored
    tanda = Tanda(tfs=tfs, n_steps=2, batch_size=4)
    learned, info = make_policy(
        "mean_field", tfs=tfs, x_unlabeled=x, tanda=tanda, then_basic=True, key=key
    )
    assert isinstance(learned, ChainPolicy) and isinstance(learned.policies[0], TandaPolicy)
    assert info["tf_probs"].shape == (1,)
    crop, _ = make_policy("heuristic", tfs=tfs, basic_pad=3, then_basic="crop", key=key)
    assert crop.policies[1] == CropFlipPolicy(pad=3, flip=False)  # the authors' recipe
    assert chained.policies[1].flip
    # a crop alone never mirrors: every output is a shifted window of the padded original
    padded = np.pad(np.asarray(x), ((0, 0), (3, 3), (3, 3), (0, 0)))
    out = np.asarray(crop(x, key=key))
    for img, pad_img in zip(out, padded, strict=True):
        assert any(
            np.array_equal(img, pad_img[i : i + 8, j : j + 8]) for i in range(7) for j in range(7)
        )
    for bad in ("flip", 1, "yes"):
        with pytest.raises(ValueError, match="then_basic"):
            make_policy("heuristic", tfs=tfs, then_basic=bad, key=key)
    # none and basic are unchanged by the flag
    assert isinstance(make_policy("basic", then_basic=True, key=key)[0], CropFlipPolicy)
    assert isinstance(make_policy("none", then_basic=True, key=key)[0], IdentityPolicy)


@pytest.mark.parametrize("model", [LogisticRegression(n_steps=20), MLP(n_steps=20, width=8)])
def test_identity_augment_keeps_existing_behaviour(model, key):
    x = jr.normal(key, (50, 3))
    y = jax.nn.one_hot((x[:, 0] > 0).astype(int), 2)
    base = model.fit(x, y, key=key)
    none = model.fit(x, y, augment=None, key=key)
    ident = model.fit(x, y, augment=IdentityPolicy(), key=key)
    np.testing.assert_array_equal(base.trace["loss"], none.trace["loss"])
    np.testing.assert_array_equal(ident.trace["loss"], none.trace["loss"])

    class Zero(AbstractAugmentPolicy):
        def __call__(self, x, *, key):
            return jnp.zeros_like(x)

    zero = model.fit(x, y, augment=Zero(), key=key)  # the policy is applied to every minibatch
    np.testing.assert_allclose(zero.trace["loss"], np.log(2.0), atol=0.05)


@pytest.mark.slow
def test_cnn_learns_with_and_without_augmentation(key):
    k_x, k_fit = jr.split(key)
    y = jnp.arange(128) % 2
    x = jr.uniform(k_x, (128, 8, 8, 1)) * 0.3 + 0.6 * y[:, None, None, None]  # bright = class 1
    for aug in (IdentityPolicy(), CropFlipPolicy(pad=1)):
        fitted = CNN(n_steps=60, width=4, batch_size=32, lr=3e-3).fit(
            x, jax.nn.one_hot(y, 2), augment=aug, key=k_fit
        )
        acc = float(jnp.mean(fitted.predict_proba(x).argmax(1) == y))
        assert acc > 0.9, acc


def test_image_models_validate_input(key):
    with pytest.raises(ValueError, match="H, W, C"):
        CNN(n_steps=1).fit(jnp.zeros((4, 8, 8)), jnp.eye(2)[jnp.array([0, 1, 0, 1])], key=key)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CNN(n_steps=1).fit(
            jnp.full((4, 8, 8, 1), 255.0), jnp.eye(2)[jnp.array([0, 1, 0, 1])], key=key
        )
