"""Invariants of the image TFs: shape, dtype, range, identity at magnitude 0, determinism, jit, vmap."""

import functools

import dm_pix as pix
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.augment import TF, TFSet, cifar_tfs, grayscale_tfs
from wsbench.augment import tfs as T

CIFAR = cifar_tfs()
GRAY = grayscale_tfs()


def test_cifar_set_is_the_papers_33():
    names = CIFAR.names
    assert len(names) == 33
    want = (
        [f"rotate({d})" for d in ("-5", "-2.5", "+2.5", "+5")]
        + [f"zoom({z})" for z in ("0.75", "0.9", "1.1", "1.25")]
        + [f"shear({a})" for a in ("-0.25", "-0.1", "+0.1", "+0.25")]
        + [f"swirl({a})" for a in ("-0.25", "-0.1", "+0.1", "+0.25")]
        + [f"hue({a})" for a in ("-0.25", "-0.1", "+0.1", "+0.25")]
        + [
            f"{e}({f})"
            for e in ("contrast", "brightness", "color")
            for f in ("0.5", "0.75", "1.25", "1.5")
        ]
        + ["flip_lr"]
    )
    assert list(names) == want
    assert (
        len(GRAY) == 24 and "flip_lr" not in GRAY.names and not any("hue" in n for n in GRAY.names)
    )


def _images(key, n, c, hw=8):
    return jr.uniform(key, (n, hw, hw, c), jnp.float32)


@functools.cache
def _compiled(fn):
    """``fn`` jitted and vmap-jitted with its magnitudes as traced arguments: one compilation per
    TF family (rotate, zoom, ...), shared by the family's TFs (the TF set's switch traces them too)."""
    one = jax.jit(lambda p, x, k: fn(x, k, **p))
    batched = jax.jit(jax.vmap(lambda p, x, k: fn(x, k, **p), in_axes=(None, 0, 0)))
    return one, batched


@pytest.mark.parametrize("index", range(len(CIFAR)), ids=CIFAR.names)
def test_image_tf_invariants(index, key):
    tf = CIFAR.tfs[index]
    k_x, k_tf = jr.split(key)
    xs = _images(k_x, 3, 3)
    y = tf(xs[0], k_tf)  # eager
    assert y.shape == xs[0].shape and y.dtype == jnp.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not np.allclose(y, xs[0], atol=1e-4), (
        "a TF at a non-zero magnitude must change the image"
    )
    one, batched = _compiled(tf.fn)
    np.testing.assert_allclose(one(tf.params, xs[0], k_tf), y, atol=1e-5)  # jit == eager
    np.testing.assert_array_equal(one(tf.params, xs[0], k_tf), one(tf.params, xs[0], k_tf))
    keys = jr.split(k_tf, 3)
    loop = jnp.stack([one(tf.params, xs[i], keys[i]) for i in range(3)])
    np.testing.assert_allclose(batched(tf.params, xs, keys), loop, atol=1e-5)  # vmap == loop


def test_tf_is_deterministic_per_key_eagerly(key):
    """Same key, same output, for one TF of every family (eager; the jitted forms are above)."""
    x = _images(key, 1, 3, hw=6)[0]
    firsts = {}
    for tf in CIFAR.tfs:
        firsts.setdefault(tf.fn, tf)
    for tf in firsts.values():
        np.testing.assert_array_equal(tf(x, key), tf(x, key), err_msg=tf.name)


@pytest.mark.slow
def test_tfset_switch_matches_each_tf(key):
    """The grouped lax.switch (7 branches for 33 TFs) applies exactly TF i for index i."""
    x = _images(key, 1, 3)[0]
    apply = jax.jit(lambda x, i, k: CIFAR.apply(x, i, k))
    for i, tf in enumerate(CIFAR.tfs):
        np.testing.assert_allclose(apply(x, i, key), tf(x, key), atol=1e-5, err_msg=tf.name)
    g = _images(key, 1, 1)[0]
    apply_g = jax.jit(lambda x, i, k: GRAY.apply(x, i, k))
    for i, tf in enumerate(GRAY.tfs):
        y = apply_g(g, i, key)
        assert y.shape == g.shape
        np.testing.assert_allclose(y, tf(g, key), atol=1e-5, err_msg=tf.name)


@pytest.mark.parametrize(
    ("fn", "params"),
    [
        (T.rotate, {"degrees": 0.0}),
        (T.zoom, {"factor": 1.0}),
        (T.shear, {"amount": 0.0}),
        (T.swirl, {"strength": 0.0}),
        (T.hue, {"delta": 0.0}),
        (T.contrast, {"factor": 1.0}),
        (T.brightness, {"factor": 1.0}),
        (T.saturation, {"factor": 1.0}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_identity_at_zero_magnitude(fn, params, key):
    x = _images(key, 1, 3)[0]
    np.testing.assert_allclose(fn(x, key, **params), x, atol=1e-5)


def test_flip_twice_is_identity(key):
    x = _images(key, 1, 3)[0]
    np.testing.assert_array_equal(T.flip_lr(T.flip_lr(x, key), key), x)
    np.testing.assert_array_equal(T.flip_lr(x, key), x[:, ::-1])


def test_geometry_matches_dm_pix_and_known_maps(key):
    x = _images(key, 1, 3, hw=9)[0]
    np.testing.assert_allclose(
        T.rotate(x, key, degrees=5.0), jnp.clip(pix.rotate(x, 5.0 * np.pi / 180), 0, 1), atol=1e-5
    )
    r90 = T.rotate(x, key, degrees=90.0)  # exact on a grid with an integer centre
    np.testing.assert_allclose(r90, jnp.rot90(x, k=1, axes=(0, 1)), atol=1e-5)
    # zoom 2: the centre pixel stays, pixel (c + 2, c) samples (c + 1, c)
    z = T.zoom(x, key, factor=2.0)
    np.testing.assert_allclose(z[4, 4], x[4, 4], atol=1e-6)
    np.testing.assert_allclose(z[6, 4], x[5, 4], atol=1e-6)
    # shear: row r samples column c + amount * (r - centre)
    s = T.shear(x, key, amount=1.0)
    np.testing.assert_allclose(s[5, 3], x[5, 4], atol=1e-6)


def test_swirl_keeps_the_centre_and_far_field():
    h = 33
    x = jnp.tile(jnp.linspace(0, 1, h)[None, :, None], (h, 1, 1))
    y = T.swirl(x, None, strength=0.25, radius=16.0)
    np.testing.assert_allclose(y[16, 16], x[16, 16], atol=1e-6)  # the centre maps to itself
    np.testing.assert_allclose(y[0, 0], x[0, 0], atol=1e-3)  # exp(-rho / r') ~ 0 at the corners
    assert float(jnp.abs(y - x).max()) > 1e-3


def test_swirl_default_radius_is_scikit_images():
    """radius 100 (scikit-image's default, the TANDA authors' TFs): on a 33-pixel image whose
    value is its column / 32 (linear, so bilinear sampling is exact), the pixel 10 columns right
    of the centre samples the input turned by s * exp(-10 / r'), r' = ln 2 * 100 / 5."""
    h, s = 33, 1.0
    x = jnp.tile((jnp.arange(h) / 32.0)[None, :, None], (h, 1, 1))
    y = T.swirl(x, None, strength=s)
    theta = s * np.exp(-10.0 / (np.log(2.0) * 100.0 / 5.0))
    np.testing.assert_allclose(y[16, 26, 0], (16 + 10 * np.cos(theta)) / 32.0, atol=1e-5)
    cifar_like = jr.uniform(jr.key(0), (32, 32, 3))
    small = float(jnp.mean((T.swirl(cifar_like, None, strength=0.1) - cifar_like) ** 2))
    rot = float(jnp.mean((T.rotate(cifar_like, None, degrees=2.5) - cifar_like) ** 2))
    assert small > 0.1 * rot  # swirl(0.1) is a real deformation, not a near-identity


def test_sequence_returns_every_prefix(key):
    x = _images(key, 1, 3)[0]
    idx = jnp.array([CIFAR.index("flip_lr"), CIFAR.index("brightness(0.5)")])
    pre = CIFAR.apply_sequence(x, idx, key)
    assert pre.shape == (3, *x.shape)
    np.testing.assert_array_equal(pre[0], x)
    np.testing.assert_allclose(pre[1], x[:, ::-1])
    np.testing.assert_allclose(pre[2], x[:, ::-1] * 0.5, atol=1e-6)
    np.testing.assert_allclose(CIFAR.compose(x, idx, key), pre[2])


def test_tfset_validation():
    with pytest.raises(ValueError, match="non-empty"):
        TFSet(())
    with pytest.raises(ValueError, match="unique"):
        TFSet((TF("a", T.identity), TF("a", T.identity)))
    with pytest.raises(TypeError, match="TF objects"):
        TFSet((T.identity,))


def test_make_tfs_names_and_exclude():
    full = T.make_tfs("cifar")
    no_flip = T.make_tfs("cifar", exclude=["flip_lr"])
    assert len(no_flip) == len(full) - 1 and "flip_lr" not in no_flip.names
    assert no_flip.names == tuple(n for n in full.names if n != "flip_lr")
    two = T.make_tfs("cifar", names=["flip_lr", "rotate(+5)"], exclude=["flip_lr"])
    assert two.names == ("rotate(+5)",)
    with pytest.raises(ValueError, match="no TF named 'flip'"):
        T.make_tfs("cifar", exclude=["flip"])
    with pytest.raises(ValueError, match="drops every TF"):
        T.make_tfs("cifar", names=["flip_lr"], exclude=["flip_lr"])
    with pytest.raises(ValueError, match="unknown image TF set"):
        T.make_tfs("rgb")
    with pytest.raises(TypeError, match=r"write exclude=\[flip_lr\]"):
        T.make_tfs("cifar", exclude="flip_lr")
    with pytest.raises(TypeError, match="list of TF names"):
        T.make_tfs("cifar", names="flip_lr")
