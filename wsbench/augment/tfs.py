"""Transformation functions (TFs): pure, jittable, vmappable ``(x, key) -> x`` maps, and ``TFSet``.

A TF maps one data point (an ``(H, W, C)`` float image in [0, 1], or a :class:`~wsbench.augment.Tokens`
sentence) and a PRNG key to a transformed data point of the same shape and dtype. A :class:`TFSet` is
a static tuple of named TFs; ``apply(x, index, key)`` selects one with ``lax.switch`` so that a
sequence of sampled TF indices (a traced array) can be applied inside ``jit`` and ``vmap``.

Image TFs reproduce the CIFAR-10 set of Ratner et al. (NeurIPS 2017, appendix): rotations, zooms,
shears, swirls, hue shifts, contrast / brightness / colour (saturation) enhancements and a
horizontal flip. Geometry, hue, contrast, saturation and flip are dm-pix operations; swirl (which
dm-pix lacks) is our own map through ``jax.scipy.ndimage.map_coordinates``; brightness is PIL's
``ImageEnhance.Brightness`` (a blend with black, ``x * factor``), which the paper used, because
dm-pix's ``adjust_brightness`` is additive. Every image TF clips its output to [0, 1].
"""

import math
from collections.abc import Callable

import dm_pix as pix
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

__all__ = [
    "TF",
    "TFSet",
    "brightness",
    "cifar_tfs",
    "contrast",
    "flip_lr",
    "grayscale_tfs",
    "hue",
    "identity",
    "image_basic",
    "make_tfs",
    "affine",
    "rotate",
    "saturation",
    "shear",
    "swirl",
    "zoom",
]


class TF(eqx.Module):
    """A named transformation function ``fn(x, key, **params) -> x``.

    Attributes:
        name: a readable label, e.g. ``"rotate(+5)"`` (static).
        fn: a module-level function ``(x, key, **params) -> x`` (static).
        params: keyword arguments of ``fn`` (magnitudes, or array-holding resources such as a
            language model): pytree leaves, so a TF set can be passed through ``eqx.filter_jit``.
    """

    name: str = eqx.field(static=True)
    fn: Callable = eqx.field(static=True)
    params: dict = eqx.field(default_factory=dict)

    def __call__(self, x, key: PRNGKeyArray):
        return self.fn(x, key, **self.params)


class TFSet(eqx.Module):
    """A static, ordered set of TFs, indexed ``0 .. len - 1`` (the generator's action space).

    Example:
        >>> import jax.numpy as jnp, jax.random as jr
        >>> tfs = cifar_tfs()
        >>> len(tfs), tfs.names[0]
        (33, 'rotate(-5)')
        >>> x = jnp.full((32, 32, 3), 0.5)
        >>> tfs.apply_sequence(x, jnp.array([0, 32]), jr.key(0))[-1].shape
        (32, 32, 3)
    """

    tfs: tuple[TF, ...]

    def __check_init__(self):
        if not isinstance(self.tfs, tuple) or not self.tfs:
            raise ValueError("TFSet needs a non-empty tuple of TF objects.")
        for t in self.tfs:
            if not isinstance(t, TF):
                raise TypeError(f"TFSet entries must be TF objects, got {type(t).__name__}.")
        names = [t.name for t in self.tfs]
        if len(set(names)) != len(names):
            raise ValueError(f"TF names must be unique, got {names}.")

    def __len__(self) -> int:
        return len(self.tfs)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tfs)

    def index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"no TF named {name!r}; the set has {list(self.names)}.")
        return self.names.index(name)

    def select(self, names) -> "TFSet":
        """The sub-set of TFs ``names`` (in that order), e.g. a few TFs for a quick run."""
        return TFSet(tuple(self.tfs[self.index(str(n))] for n in names))

    def apply(self, x, index: Int[Array, ""], key: PRNGKeyArray):
        """Apply TF number ``index`` (a traced int is fine) to one data point.

        TFs sharing one ``fn`` whose parameters are all plain numbers become a single
        ``lax.switch`` branch that gathers its magnitudes from a table, so 33 image TFs compile
        as 7 branches.
        """
        index = jnp.asarray(index, jnp.int32)
        groups, which, slot = _groups(self.tfs)
        branches = []
        for g in groups:
            members = [self.tfs[i] for i in g]
            if len(members) == 1:
                branches.append(lambda x, k, j, t=members[0]: t(x, k))
            else:
                table = {
                    name: jnp.asarray([float(t.params[name]) for t in members], jnp.float32)
                    for name in members[0].params
                }
                fn = members[0].fn
                branches.append(
                    lambda x, k, j, fn=fn, table=table: fn(
                        x, k, **{n: v[j] for n, v in table.items()}
                    )
                )
        if len(branches) == 1:
            return branches[0](x, key, jnp.asarray(slot)[index])
        return jax.lax.switch(jnp.asarray(which)[index], branches, x, key, jnp.asarray(slot)[index])

    def apply_sequence(self, x, indices: Int[Array, " L"], key: PRNGKeyArray):
        """Apply TFs ``indices[0]``, then ``indices[1]``, ...; return every prefix.

        Returns:
            a pytree like ``x`` with a leading axis of length ``L + 1``: entry 0 is ``x`` itself,
            entry ``t`` is ``x`` after the first ``t`` TFs (the last entry is the augmented point).
        """
        keys = jax.random.split(key, indices.shape[0])

        def step(x, ik):
            i, k = ik
            y = self.apply(x, i, k)
            return y, y

        _, ys = jax.lax.scan(step, x, (indices, keys))
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b], axis=0), x, ys)

    def compose(self, x, indices: Int[Array, " L"], key: PRNGKeyArray):
        """The fully transformed point (the last entry of :meth:`apply_sequence`)."""
        return jax.tree.map(lambda a: a[-1], self.apply_sequence(x, indices, key))


def _groups(tfs):
    """Group TF positions by (fn, parameter names) when every parameter is a plain number."""
    keyed, groups, which, slot = {}, [], [], []
    for i, t in enumerate(tfs):
        numeric = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in t.params.values()
        )
        k = (t.fn, tuple(sorted(t.params))) if numeric and t.params else ("single", i)
        if k not in keyed:
            keyed[k] = len(groups)
            groups.append([])
        which.append(keyed[k])
        slot.append(len(groups[keyed[k]]))
        groups[keyed[k]].append(i)
    return groups, which, slot


# ------------------------------------------------------------------------------- image ops


def _clip(x):
    return jnp.clip(x, 0.0, 1.0)


def _centred_affine(x, matrix: Float[Array, "2 2"]):
    """Resample ``x`` (H, W, C) at ``matrix @ (p - c) + c`` for each output pixel p (c: centre)."""
    m3 = jnp.eye(3, dtype=x.dtype).at[:2, :2].set(matrix.astype(x.dtype))
    centre = (jnp.asarray(x.shape, x.dtype) - 1.0) / 2.0
    offset = centre - m3 @ centre
    return pix.affine_transform(x, m3, offset=offset, order=1, mode="nearest")


def identity(x, key):
    del key
    return x


def affine(x, key, *, m00: float, m01: float, m10: float, m11: float):
    """Resample about the centre with the inverse map ``[[m00, m01], [m10, m11]]`` on (row, col)
    (dm-pix ``affine_transform``, bilinear, edge-extended). Rotations, zooms and shears are TFs of
    this one function, so they share one compiled branch."""
    del key
    m = jnp.stack([jnp.stack([m00, m01]), jnp.stack([m10, m11])]).astype(x.dtype)
    return _clip(_centred_affine(x, m))


def _rotation(degrees: float) -> dict:
    a = degrees * math.pi / 180.0  # same inverse map as dm-pix rotate (counter-clockwise)
    return {"m00": math.cos(a), "m01": math.sin(a), "m10": -math.sin(a), "m11": math.cos(a)}


def _zooming(factor: float) -> dict:
    return {"m00": 1.0 / factor, "m01": 0.0, "m10": 0.0, "m11": 1.0 / factor}


def _shearing(amount: float) -> dict:
    return {"m00": 1.0, "m01": 0.0, "m10": amount, "m11": 1.0}


def rotate(x, key, *, degrees: float):
    """Rotate by ``degrees`` counter-clockwise about the centre."""
    return affine(x, key, **{k: jnp.asarray(v) for k, v in _rotation(degrees).items()})


def zoom(x, key, *, factor: float):
    """Zoom about the centre: ``factor > 1`` magnifies (crops in), ``< 1`` shrinks (edge-extended)."""
    return affine(x, key, **{k: jnp.asarray(v) for k, v in _zooming(factor).items()})


def shear(x, key, *, amount: float):
    """Horizontal shear: the column shifts by ``amount`` pixels per row away from the centre."""
    return affine(x, key, **{k: jnp.asarray(v) for k, v in _shearing(amount).items()})


def swirl(x, key, *, strength: float, radius: float = 100.0):
    r"""Swirl about the centre (scikit-image's definition, which TANDA used; dm-pix has none).

    The output pixel at polar coordinates $(\rho, \theta)$ around the centre samples the input at
    angle $\theta + s\, e^{-\rho / r'}$ with $r' = \ln 2 \cdot r / 5$ and $r$ = ``radius``;
    bilinear, edge-extended. The default radius, 100 pixels, is scikit-image's and the one the
    TANDA authors' CIFAR-10 TFs used (``TF_swirl(strength=s)`` in HazyResearch/tanda): on a 32-pixel
    image $r' = 13.9$, so the whole image turns, by $s$ radians at the centre and $0.2 s$ at the
    corners. (Half the image size instead, $r' = 2.2$, leaves all but the central few pixels in
    place: an identity in all but name.)
    """
    del key
    h, w = x.shape[0], x.shape[1]
    r_eff = math.log(2.0) * radius / 5.0
    rows, cols = jnp.meshgrid(
        jnp.arange(h, dtype=x.dtype), jnp.arange(w, dtype=x.dtype), indexing="ij"
    )
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    dy, dx = rows - cy, cols - cx
    rho = jnp.sqrt(dx**2 + dy**2)
    theta = strength * jnp.exp(-rho / r_eff)
    c, s = jnp.cos(theta), jnp.sin(theta)
    src_r = cy + dy * c + dx * s
    src_c = cx - dy * s + dx * c

    def channel(img):
        return jax.scipy.ndimage.map_coordinates(img, [src_r, src_c], order=1, mode="nearest")

    out = jax.vmap(channel, in_axes=-1, out_axes=-1)(x)
    return _clip(out)


def hue(x, key, *, delta: float):
    """Shift the hue by ``delta`` (fraction of the colour circle; dm-pix ``adjust_hue``)."""
    del key
    return _clip(pix.adjust_hue(x, delta))


def contrast(x, key, *, factor: float):
    """Scale the deviation from the per-channel mean by ``factor`` (dm-pix ``adjust_contrast``)."""
    del key
    return _clip(pix.adjust_contrast(x, factor))


def brightness(x, key, *, factor: float):
    """Multiply intensities by ``factor`` (PIL ``ImageEnhance.Brightness``: a blend with black)."""
    del key
    return _clip(x * jnp.asarray(factor, x.dtype))


def saturation(x, key, *, factor: float):
    """Scale the HSV saturation by ``factor`` (dm-pix ``adjust_saturation``; RGB only)."""
    del key
    return _clip(pix.adjust_saturation(x, factor))


def flip_lr(x, key):
    """Mirror left-right (dm-pix ``flip_left_right``)."""
    del key
    return pix.flip_left_right(x)


def _fmt(v: float) -> str:
    return f"{v:+g}"


def _geometric(
    rot=(2.5, 5.0), zooms=(0.75, 0.9, 1.1, 1.25), shears=(0.1, 0.25), swirls=(0.1, 0.25)
):
    out = []
    for d in sorted({s * v for v in rot for s in (-1, 1)}):
        out.append(TF(f"rotate({_fmt(d)})", affine, _rotation(d)))
    for z in zooms:
        out.append(TF(f"zoom({z:g})", affine, _zooming(z)))
    for a in sorted({s * v for v in shears for s in (-1, 1)}):
        out.append(TF(f"shear({_fmt(a)})", affine, _shearing(a)))
    for a in sorted({s * v for v in swirls for s in (-1, 1)}):
        out.append(TF(f"swirl({_fmt(a)})", swirl, {"strength": a}))
    return out


def _enhance(names_fns, factors=(0.5, 0.75, 1.25, 1.5)):
    return [TF(f"{name}({f:g})", fn, {"factor": f}) for name, fn in names_fns for f in factors]


def cifar_tfs() -> TFSet:
    """The 33 CIFAR-10 TFs of TANDA: 4 rotations, 4 zooms, 4 shears, 4 swirls, 4 hue shifts,
    4 each of contrast, brightness and colour (saturation) at 0.5/0.75/1.25/1.5, and a flip."""
    tfs = _geometric()
    for d in (-0.25, -0.1, 0.1, 0.25):
        tfs.append(TF(f"hue({_fmt(d)})", hue, {"delta": d}))
    tfs += _enhance((("contrast", contrast), ("brightness", brightness), ("color", saturation)))
    tfs.append(TF("flip_lr", flip_lr))
    return TFSet(tuple(tfs))


def grayscale_tfs() -> TFSet:
    """TFs for single-channel images (chest X-rays): the geometric ones, contrast and brightness
    (no hue/colour, no flip: left-right anatomy is not symmetric). 24 TFs."""
    tfs = _geometric() + _enhance((("contrast", contrast), ("brightness", brightness)))
    return TFSet(tuple(tfs))


_IMAGE_SETS = {"cifar": cifar_tfs, "grayscale": grayscale_tfs}


def make_tfs(kind: str = "cifar", names=None, exclude=None) -> TFSet:
    """An image TF set by name (``cifar``: the 33; ``grayscale``: the 24).

    Args:
        kind: which set.
        names: keep only these TFs (in this order); None keeps them all.
        exclude: then drop these TFs, e.g. ``["flip_lr"]`` where a random flip follows every
            sequence anyway. Every name must be in the set.

    Raises:
        ValueError: an unknown ``kind`` or TF name, or ``exclude`` leaving no TF.
        TypeError: ``names`` or ``exclude`` a single string, not a list of names.
    """
    if kind not in _IMAGE_SETS:
        raise ValueError(f"unknown image TF set {kind!r}; choose one of {sorted(_IMAGE_SETS)}.")
    for arg, got in (("names", names), ("exclude", exclude)):
        if isinstance(got, str):
            raise TypeError(
                f"tfs {arg} must be a list of TF names, got the string {got!r}: "
                f"write {arg}=[{got}]."
            )
    tfs = _IMAGE_SETS[kind]()
    if names is not None:
        tfs = tfs.select(names)
    if exclude:
        drop = [str(n) for n in exclude]
        for n in drop:
            tfs.index(n)  # an unknown name raises, listing the set
        keep = [n for n in tfs.names if n not in drop]
        if not keep:
            raise ValueError(
                f"tfs exclude={list(exclude)} drops every TF of the set; keep at least one."
            )
        tfs = tfs.select(keep)
    return tfs


def image_basic() -> TFSet:
    """Alias of :func:`cifar_tfs` (the default image TF set)."""
    return cifar_tfs()
