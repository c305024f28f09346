"""jitperf.io: mapped inputs, byte ranges and advice, dtype/shape parsing,
atomic outputs, .npy outputs filled by regions, and sample generation."""

import mmap
import os
import re

import numpy as np
import pytest

from jitperf._checks import SUPPORTED
from jitperf.errors import InputError, OutputError, OutputExists
from jitperf.io import (
    AtomicFile,
    NpyOutput,
    generate,
    open_input,
    parse_dtype,
    parse_shape,
)
from jitperf.io.gen import BLOCK

PAGE = mmap.PAGESIZE
DTYPES = [pytest.param(dt, id=str(dt)) for dt in SUPPORTED]


# ---------------------------------------------------------------- helpers


def sample(dtype, shape, seed=0):
    """Distinct-ish values of any supported dtype (no NaN)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


def the_map(arr):
    """The mmap at the end of arr's base chain (fails if there is none)."""
    base = arr
    seen = 0
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
        seen += 1
        assert seen < 10, "base chain too long"
    assert isinstance(base, mmap.mmap), f"no mmap in the base chain of {type(arr)}"
    return base


def address(a) -> int:
    return a.__array_interface__["data"][0]


def map_address(m) -> int:
    return address(np.frombuffer(m, np.uint8))


def leftovers(folder):
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- open_input: .npy


LAYOUTS = [
    pytest.param((37,), "C", id="1d"),
    pytest.param((13, 5), "C", id="2d-C"),
    pytest.param((13, 5), "F", id="2d-F"),
]


@pytest.mark.parametrize("shape,order", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_npy_is_a_readonly_view_of_the_map(tmp_path, dtype, shape, order):
    a = np.asarray(sample(dtype, shape), order=order)
    path = tmp_path / "a.npy"
    np.save(path, a)
    src = open_input(path)
    arr = src.array
    expected = np.load(path)
    assert src.kind == "npy"
    assert src.path == str(path)
    assert arr.dtype == expected.dtype == dtype
    assert arr.shape == expected.shape
    np.testing.assert_array_equal(arr, expected)
    assert arr.flags.f_contiguous == expected.flags.f_contiguous
    assert arr.flags.c_contiguous == expected.flags.c_contiguous
    assert src.fortran == (order == "F" and len(shape) == 2)
    # read-only
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0] = 0
    # a view of the map, not a copy: no own data, and its data pointer is
    # the map's address plus the header length
    assert not arr.flags.owndata
    m = the_map(arr)
    assert address(arr) == map_address(m) + src.offset
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        assert src.offset == f.tell()
    assert len(m) == os.path.getsize(path)
    src.close()


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_header_versions(tmp_path, version, order):
    a = np.asarray(sample("float32", (9, 4)), order=order)
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    with open(path, "rb") as f:
        assert np.lib.format.read_magic(f) == version
    src = open_input(path)
    np.testing.assert_array_equal(src.array, np.load(path))
    assert src.array.flags.f_contiguous == (order == "F")
    assert not src.array.flags.writeable
    assert not src.array.flags.owndata
    assert address(src.array) == map_address(the_map(src.array)) + src.offset
    # the data offset is after the header of that version
    header = 12 if version == (2, 0) else 10  # magic + version + length field
    assert src.offset > header
    assert (os.path.getsize(path) - src.offset) == a.nbytes


def test_npy_with_trailing_bytes_maps_only_the_array(tmp_path):
    a = sample("int32", (6, 2))
    path = tmp_path / "t.npy"
    np.save(path, a)
    with open(path, "ab") as f:
        f.write(b"\0" * 7)
    src = open_input(path)
    np.testing.assert_array_equal(src.array, a)


# ---------------------------------------------------------------- open_input: raw


def write_raw(path, a, head=b""):
    with open(path, "wb") as f:
        f.write(head)
        f.write(np.ascontiguousarray(a).tobytes())
    return path


@pytest.mark.parametrize("dtype", DTYPES)
def test_raw_dtype_only_is_1d_sized_from_the_file(tmp_path, dtype):
    a = sample(dtype, (21,))
    path = write_raw(tmp_path / "a.bin", a)
    src = open_input(path, dtype=dtype)
    assert src.kind == "raw"
    assert src.offset == 0
    assert src.array.shape == (21,)
    assert src.array.dtype == dtype
    np.testing.assert_array_equal(src.array, a)
    assert not src.array.flags.writeable
    assert not src.array.flags.owndata
    assert address(src.array) == map_address(the_map(src.array))
    assert not src.fortran


@pytest.mark.parametrize("dtype", ["float64", np.dtype("uint16"), "<i4", "f4"])
def test_raw_dtype_spellings(tmp_path, dtype):
    dt = np.dtype(dtype)
    a = sample(dt, (8,))
    src = open_input(write_raw(tmp_path / "a.bin", a), dtype=dtype)
    assert src.array.dtype == dt
    np.testing.assert_array_equal(src.array, a)


@pytest.mark.parametrize("shape", ["6,4", (6, 4), "-1,4", "6,-1", " 6 , 4 ", [6, 4]])
def test_raw_with_a_shape(tmp_path, shape):
    a = sample("float32", (6, 4))
    src = open_input(write_raw(tmp_path / "a.bin", a), dtype="float32", shape=shape)
    assert src.array.shape == (6, 4)
    assert src.array.flags.c_contiguous
    np.testing.assert_array_equal(src.array, a)


@pytest.mark.parametrize("shape", ["24", "-1", (24,), -1])
def test_raw_with_a_1d_shape(tmp_path, shape):
    a = sample("int16", (24,))
    src = open_input(write_raw(tmp_path / "a.bin", a), dtype="int16", shape=shape)
    assert src.array.shape == (24,)
    np.testing.assert_array_equal(src.array, a)


@pytest.mark.parametrize("offset", [1, 8, 100, PAGE, PAGE + 3])
@pytest.mark.parametrize("shape", [None, "-1,3", "5,3"])
def test_raw_with_an_offset(tmp_path, offset, shape):
    a = sample("float64", (5, 3))
    head = bytes(range(256)) * (offset // 256 + 1)
    path = write_raw(tmp_path / "a.bin", a, head[:offset])
    src = open_input(path, dtype="float64", shape=shape, offset=offset)
    assert src.offset == offset
    expected = a.ravel() if shape is None else a
    assert src.array.shape == expected.shape
    np.testing.assert_array_equal(src.array, expected)
    assert address(src.array) == map_address(the_map(src.array)) + offset
    assert not src.array.flags.owndata
    assert not src.array.flags.writeable


def test_raw_accepts_a_pathlike_and_a_str(tmp_path):
    a = sample("uint8", (10,))
    path = write_raw(tmp_path / "a.raw", a)
    for p in (path, str(path)):
        np.testing.assert_array_equal(open_input(p, dtype="uint8").array, a)


# ---------------------------------------------------------------- open_input: errors


def assert_input_error(path, fn):
    with pytest.raises(InputError) as info:
        fn()
    msg = str(info.value)
    assert str(path) in msg, msg
    assert "\n" not in msg, msg
    return msg


def test_error_object_dtype(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
    msg = assert_input_error(path, lambda: open_input(path))
    assert "object" in msg or "pickle" in msg


@pytest.mark.parametrize("dtype", [">f4", ">i8", ">u2", ">f8"])
def test_error_big_endian_npy(tmp_path, dtype):
    path = tmp_path / "be.npy"
    np.save(path, np.arange(5).astype(dtype))
    msg = assert_input_error(path, lambda: open_input(path))
    assert "byte order" in msg


def test_error_big_endian_raw_dtype(tmp_path):
    path = write_raw(tmp_path / "be.bin", np.arange(4, dtype=">f4"))
    with pytest.raises(InputError):
        open_input(path, dtype=">f4")


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1, 1)])
def test_error_more_than_2d(tmp_path, shape):
    path = tmp_path / "nd.npy"
    np.save(path, np.zeros(shape, "f4"))
    msg = assert_input_error(path, lambda: open_input(path))
    assert "1-D or 2-D" in msg


def test_error_0d(tmp_path):
    path = tmp_path / "0d.npy"
    np.save(path, np.float32(3.0))
    assert_input_error(path, lambda: open_input(path))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (4, 0)])
def test_error_no_elements(tmp_path, shape):
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros(shape, "f4"))
    msg = assert_input_error(path, lambda: open_input(path))
    assert "no elements" in msg


@pytest.mark.parametrize(
    "kw", [{"dtype": "float32"}, {"shape": "4"}, {"offset": 8}, {"dtype": "f4", "shape": "-1"}]
)
def test_error_raw_arguments_for_a_npy(tmp_path, kw):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(4, "f4"))
    assert_input_error(path, lambda: open_input(path, **kw))


@pytest.mark.parametrize("dtype", ["complex64", "bool", "float16", "U4"])
def test_error_unsupported_npy_dtype(tmp_path, dtype):
    path = tmp_path / "u.npy"
    np.save(path, np.zeros(4, dtype))
    assert_input_error(path, lambda: open_input(path))


def test_error_missing_dir_empty(tmp_path):
    missing = tmp_path / "nope.npy"
    assert_input_error(missing, lambda: open_input(missing))
    assert_input_error(tmp_path, lambda: open_input(tmp_path, dtype="f4"))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert_input_error(empty, lambda: open_input(empty, dtype="f4"))
    empty_npy = tmp_path / "empty.npy"
    empty_npy.write_bytes(b"")
    assert_input_error(empty_npy, lambda: open_input(empty_npy))


def test_error_bad_and_truncated_npy(tmp_path):
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"this is not a npy file at all" * 4)
    assert_input_error(junk, lambda: open_input(junk))
    short = tmp_path / "short.npy"
    np.save(short, np.arange(100, dtype="f8"))
    data = short.read_bytes()
    short.write_bytes(data[:-8])
    msg = assert_input_error(short, lambda: open_input(short))
    assert "truncated" in msg
    header_only = tmp_path / "hdr.npy"
    header_only.write_bytes(data[:20])
    assert_input_error(header_only, lambda: open_input(header_only))


def test_error_raw_sizes(tmp_path):
    path = write_raw(tmp_path / "a.bin", np.zeros(10, "f4"))  # 40 bytes
    assert_input_error(path, lambda: open_input(path))  # no dtype
    assert_input_error(path, lambda: open_input(path, dtype="f8", shape="-1,3"))  # 40 % 24
    assert_input_error(path, lambda: open_input(path, dtype="f4", shape="3,3"))
    assert_input_error(path, lambda: open_input(path, dtype="f4", shape="11"))
    assert_input_error(path, lambda: open_input(path, dtype="f4", offset=2))  # 38 % 4
    assert_input_error(path, lambda: open_input(path, dtype="f4", offset=40))
    assert_input_error(path, lambda: open_input(path, dtype="f4", offset=1000))
    assert_input_error(path, lambda: open_input(path, dtype="f4", shape="0"))
    with pytest.raises(InputError):
        open_input(path, dtype="f4", offset=-4)
    with pytest.raises(InputError):
        open_input(path, dtype="f4", shape="2,2,10")
    with pytest.raises(InputError):
        open_input(path, dtype="complex64")


# ---------------------------------------------------------------- byte_ranges, advise, pages


def element_bytes(src, start, stop):
    """Sorted file offsets of every byte of rows start:stop, from the array's
    own strides."""
    a = src.array
    base = address(a) - map_address(the_map(a)) + 0  # == src.offset
    assert base == src.offset
    idx = np.indices(a[start:stop].shape).reshape(a.ndim, -1)
    idx[0] += start
    offs = base + (idx * np.array(a.strides)[:, None]).sum(axis=0)
    return np.sort((offs[:, None] + np.arange(a.itemsize)).ravel())


def range_bytes(ranges):
    if not ranges:
        return np.array([], dtype=np.int64)
    return np.sort(np.concatenate([np.arange(b, b + n) for b, n in ranges]))


ROWSETS = [(0, 1), (0, 11), (3, 8), (10, 11), (5, 5), (0, 0), (11, 11)]


@pytest.mark.parametrize("start,stop", ROWSETS)
@pytest.mark.parametrize(
    "shape,order,dtype",
    [
        ((11,), "C", "float32"),
        ((11, 4), "C", "float64"),
        ((11, 4), "F", "float64"),
        ((11, 3), "F", "int16"),
        ((11, 1), "F", "uint8"),
        ((11, 7), "C", "int8"),
    ],
)
def test_byte_ranges_cover_exactly_the_rows(tmp_path, shape, order, dtype, start, stop):
    a = np.asarray(sample(dtype, shape), order=order)
    path = tmp_path / "a.npy"
    np.save(path, a)
    src = open_input(path)
    ranges = src.byte_ranges(start, stop)
    got = range_bytes(ranges)
    want = element_bytes(src, start, stop)
    np.testing.assert_array_equal(got, want)
    # no range overlaps another (each byte once)
    assert sum(n for _, n in ranges) == len(want)
    # and the bytes there are the rows' data
    data = path.read_bytes()
    rows = a[start:stop]
    blob = b"".join(data[b : b + n] for b, n in ranges)
    if order == "F" and a.ndim == 2:
        assert len(ranges) == a.shape[1]
        assert blob == b"".join(rows[:, j].tobytes() for j in range(a.shape[1]))
    else:
        assert len(ranges) == 1
        assert blob == rows.tobytes()


def test_byte_ranges_raw_with_offset(tmp_path):
    a = sample("float32", (9, 5))
    path = write_raw(tmp_path / "a.bin", a, b"z" * 13)
    src = open_input(path, dtype="float32", shape="9,5", offset=13)
    for start, stop in [(0, 9), (2, 4), (8, 9)]:
        np.testing.assert_array_equal(
            range_bytes(src.byte_ranges(start, stop)), element_bytes(src, start, stop)
        )
    assert src.byte_ranges(2, 4) == [(13 + 2 * 20, 40)]


ADVICE = [
    mmap.MADV_NORMAL,
    mmap.MADV_SEQUENTIAL,
    mmap.MADV_WILLNEED,
    mmap.MADV_RANDOM,
    mmap.MADV_DONTNEED,
]


def advised_sources(tmp_path):
    """Sources whose data starts at and off page boundaries, in both orders,
    with sizes that are not a multiple of the page."""
    out = []
    n = 3 * PAGE // 4 + 17  # float32 rows x 4 columns: ~3 pages a column
    a = sample("float32", (n, 4))
    p = tmp_path / "c.npy"
    np.save(p, a)
    out.append(open_input(p))
    p = tmp_path / "f.npy"
    np.save(p, np.asfortranarray(a))
    out.append(open_input(p))
    for off in (0, 1, 100, PAGE, PAGE + 12, 3 * PAGE - 4):
        p = write_raw(tmp_path / f"r{off}.bin", a, b"h" * off)
        out.append(open_input(p, dtype="float32", shape=f"{n},4", offset=off))
        out.append(open_input(p, dtype="uint8", offset=off))  # 1-D, odd length
    p = write_raw(tmp_path / "one.bin", np.zeros(3, "int8"))
    out.append(open_input(p, dtype="int8"))
    return out


def test_advise_anywhere_does_not_raise(tmp_path):
    for src in advised_sources(tmp_path):
        n = src.array.shape[0]
        spots = {(0, 1), (0, n), (n // 2, n // 2 + 1), (n // 3, 2 * n // 3), (n - 1, n)}
        spots |= {(max(0, n - 5), n), (n, n), (0, 0)}
        for option in ADVICE:
            src.advise(option)  # the whole array
            for start, stop in sorted(spots):
                src.advise(option, start, stop)
                src.advise(option, start)  # to the end
        # advice changes nothing that can be read
        np.testing.assert_array_equal(np.asarray(src.array), src.array.copy())


def pages_of(src, ranges):
    """Pages (relative to the map's start) that the byte ranges cover."""
    out = set()
    for b, n in ranges:
        if n:
            out.update(range(b // PAGE, (b + n - 1) // PAGE + 1))
    return out


@pytest.mark.parametrize("kind", ["npy-1d", "npy-C", "npy-F", "raw-aligned", "raw-offset"])
def test_pages_one_byte_per_page(tmp_path, kind):
    n = 4 * PAGE  # uint8 1-D / float32 rows
    if kind == "npy-1d":
        p = tmp_path / "a.npy"
        np.save(p, sample("float32", (n,)))
        src = open_input(p)
    elif kind == "npy-C":
        p = tmp_path / "a.npy"
        np.save(p, sample("float32", (n // 8, 8)))
        src = open_input(p)
    elif kind == "npy-F":
        p = tmp_path / "a.npy"
        np.save(p, np.asfortranarray(sample("float32", (n, 3))))
        src = open_input(p)
    elif kind == "raw-aligned":
        src = open_input(write_raw(tmp_path / "a.bin", sample("float32", (n,))), dtype="float32")
    else:
        p = write_raw(tmp_path / "a.bin", sample("float32", (n,)), b"h" * 100)
        src = open_input(p, dtype="float32", offset=100)
    base = map_address(the_map(src.array))
    rows = src.array.shape[0]
    for start, stop in [(0, rows), (0, 1), (0, rows // 2), (rows // 3, rows - 7), (rows - 1, rows)]:
        ranges = src.byte_ranges(start, stop)
        views = src.pages(start, stop)
        touched = []
        for v in views:
            assert v.dtype == np.uint8
            addr = address(v) + np.arange(v.shape[0]) * (v.strides[0] if v.ndim else 0)
            rel = addr - base
            assert (rel >= 0).all() and (rel < len(the_map(src.array))).all()
            touched.extend((rel // PAGE).tolist())
        want = pages_of(src, ranges)
        missed = sorted(want - set(touched))
        assert set(touched) == want, (
            f"{kind}: rows {start}:{stop} cover pages {min(want)}..{max(want)} of the map; "
            f"pages() touches none of {missed}"
        )
        # one byte per page: as many bytes as pages, range by range
        per_range = sum(len(pages_of(src, [r])) for r in ranges)
        assert len(touched) == per_range, (kind, start, stop, len(touched), per_range)


def test_pages_are_readable(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, sample("int32", (3 * PAGE,)))
    src = open_input(p)
    total = sum(int(v.astype(np.int64).sum()) for v in src.pages(0, 3 * PAGE))
    assert total >= 0
    assert sum(v.size for v in src.pages(5, 5)) == 0


# ---------------------------------------------------------------- parse_dtype / parse_shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_parse_dtype_accepts_every_supported(dtype):
    assert parse_dtype(str(dtype)) == dtype
    assert parse_dtype(dtype) == dtype
    assert parse_dtype(dtype.str) == dtype  # '<f4', '|u1', ...
    assert parse_dtype(dtype.char) == dtype


@pytest.mark.parametrize(
    "text,want",
    [("f4", "float32"), ("f8", "float64"), ("<i8", "int64"), ("u1", "uint8"), ("=u2", "uint16")],
)
def test_parse_dtype_spellings(text, want):
    assert parse_dtype(text) == np.dtype(want)


@pytest.mark.parametrize(
    "text",
    [
        "float16",
        "complex64",
        "complex128",
        "bool",
        "object",
        "U4",
        "S3",
        "datetime64[s]",
        "f4,f4",
        ">f4",
        ">i8",
        ">u2",
        "nonsense",
        "float33",
        "",
    ],
)
def test_parse_dtype_refuses(text):
    with pytest.raises(InputError) as info:
        parse_dtype(text)
    assert str(info.value).startswith("--dtype:"), str(info.value)


def test_parse_dtype_names_the_argument():
    with pytest.raises(InputError, match=r"^-p dtype:"):
        parse_dtype("float16", "-p dtype")


@pytest.mark.parametrize(
    "text,want",
    [
        ("5", (5,)),
        ("5,3", (5, 3)),
        (" 5 , 3 ", (5, 3)),
        ("-1", (-1,)),
        ("-1,3", (-1, 3)),
        ("3,-1", (3, -1)),
        ("0", (0,)),
        ("0,4", (0, 4)),
        ((4, 2), (4, 2)),
        ([7], (7,)),
        (5, (5,)),
        ((np.int64(3), 2), (3, 2)),
    ],
)
def test_parse_shape_accepts(text, want):
    got = parse_shape(text)
    assert got == want
    assert type(got) is tuple
    assert all(type(s) is int for s in got)


@pytest.mark.parametrize(
    "text",
    ["", "a", "5,", ",5", "1,2,3", "-1,-1", "-2", "3,-5", "1.5", "2,x", (), (1, 2, 3), "5;3"],
)
def test_parse_shape_refuses(text):
    with pytest.raises(InputError) as info:
        parse_shape(text)
    assert str(info.value).startswith("--shape:"), str(info.value)


@pytest.mark.parametrize("given", [(2.5, 3), [1.9], (4, 0.5), ("2", 1.5)])
def test_parse_shape_refuses_non_integer_sizes(given):
    """ "5.0" is refused as a size, so a float in a tuple must be too, not
    silently truncated to an int (2.5 -> 2)."""
    with pytest.raises(InputError, match=r"^--shape:"):
        parse_shape(given)


# ---------------------------------------------------------------- AtomicFile


TMP = re.compile(r"^\.(?P<name>.+)\.[^/]*\.tmp$")


def only_temp(folder, name):
    files = leftovers(folder)
    assert len(files) == 1, files
    m = TMP.match(files[0])
    assert m and files[0].startswith(f".{name}."), files
    return folder / files[0]


def test_atomic_target_appears_only_on_commit(tmp_path):
    target = tmp_path / "out.bin"
    af = AtomicFile(target)
    af.write(b"hello ")
    af.write(np.arange(3, dtype=np.int8))
    assert not target.exists()
    temp = only_temp(tmp_path, "out.bin")
    assert os.path.samefile(temp, af.path)
    assert os.path.dirname(os.path.abspath(af.path)) == str(tmp_path)
    assert af.commit() == str(target)
    assert target.read_bytes() == b"hello \x00\x01\x02"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_with_block_commit(tmp_path):
    target = tmp_path / "out.bin"
    with AtomicFile(target) as af:
        af.write(b"abc")
        assert not target.exists()
        af.commit()
    assert target.read_bytes() == b"abc"
    assert leftovers(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, OSError])
def test_atomic_exception_removes_the_temp(tmp_path, exc):
    target = tmp_path / "out.bin"
    with pytest.raises(exc):
        with AtomicFile(target) as af:
            af.write(b"partial")
            only_temp(tmp_path, "out.bin")
            raise exc("boom")
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_atomic_no_commit_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with AtomicFile(target) as af:
        af.write(b"never committed")
    assert leftovers(tmp_path) == []
    af2 = AtomicFile(target)
    af2.write(b"x")
    af2.abort()
    af2.abort()  # twice is fine
    assert leftovers(tmp_path) == []


def test_atomic_existing_target_refused_without_force(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OutputExists) as info:
        AtomicFile(target)
    assert str(target) in str(info.value)
    assert isinstance(info.value, OutputError)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_force_replaces(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents, longer than the new")
    with AtomicFile(target, force=True) as af:
        af.write(b"new")
        assert target.read_bytes().startswith(b"old")
        af.commit()
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_target_folder_and_directory(tmp_path):
    with pytest.raises(OutputExists):
        AtomicFile(tmp_path)
    with pytest.raises(OutputError):
        AtomicFile(tmp_path / "no" / "such" / "out.bin")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0, 0o666)])
@pytest.mark.parametrize("force", [False, True])
def test_atomic_mode_follows_the_umask(tmp_path, mask, mode, force):
    target = tmp_path / "out.bin"
    if force:
        target.write_bytes(b"old")
        os.chmod(target, 0o600 if mode != 0o600 else 0o644)
    old = os.umask(mask)
    try:
        with AtomicFile(target, force=force) as af:
            af.write(b"data")
            af.commit()
        assert os.umask(mask) == mask  # the library left the umask as it was
    finally:
        os.umask(old)
    assert os.stat(target).st_mode & 0o777 == mode


def test_atomic_target_appearing_before_commit(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(OutputExists) as info:
        with AtomicFile(target) as af:
            af.write(b"mine")
            target.write_bytes(b"someone else's")
            af.commit()
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"someone else's"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_target_appearing_before_commit_then_abort(tmp_path):
    target = tmp_path / "out.bin"
    af = AtomicFile(target)
    af.write(b"mine")
    target.write_bytes(b"other")
    with pytest.raises(OutputExists):
        af.commit()
    af.abort()
    assert target.read_bytes() == b"other"
    assert leftovers(tmp_path) == ["out.bin"]


def test_atomic_reserve(tmp_path):
    target = tmp_path / "out.bin"
    with AtomicFile(target) as af:
        af.reserve(1 << 16)
        assert os.path.getsize(af.path) == 1 << 16
        af.write(b"abc")
        af.commit()
    assert target.read_bytes()[:3] == b"abc"


# ---------------------------------------------------------------- NpyOutput


def fill(target, expected, spans, fortran=False, pool=None):
    with AtomicFile(target) as af:
        out = NpyOutput(af, expected.shape, expected.dtype, fortran=fortran, pool=pool)
        for lo, hi in spans:
            region = out.region(lo, hi)
            assert region.shape == (hi - lo,) + expected.shape[1:]
            assert region.dtype == expected.dtype
            region[...] = expected[lo:hi]
            out.done(lo, hi, region)
        out.close()
        af.commit()


SPANS = [[(0, 10)], [(0, 4), (4, 7), (7, 10)], [(i, i + 1) for i in range(10)], [(0, 9), (9, 10)]]


@pytest.mark.parametrize("spans", SPANS, ids=["one", "three", "rows", "uneven"])
@pytest.mark.parametrize(
    "shape,dtype", [((10,), "float64"), ((10, 3), "float32"), ((10, 1), "int16")]
)
def test_npy_output_c_order(tmp_path, shape, dtype, spans):
    expected = sample(dtype, shape)
    target = tmp_path / "out.npy"
    fill(target, expected, spans)
    got = np.load(target)
    assert got.dtype == expected.dtype
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    # exactly the header and the data: no reserved tail
    header = os.path.getsize(target) - expected.nbytes
    with open(target, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        assert f.tell() == header
    assert leftovers(tmp_path) == ["out.npy"]


@pytest.mark.parametrize("spans", SPANS, ids=["one", "three", "rows", "uneven"])
@pytest.mark.parametrize("shape,dtype", [((10, 3), "float64"), ((10, 4), "uint8")])
def test_npy_output_fortran_order(tmp_path, shape, dtype, spans):
    expected = np.asfortranarray(sample(dtype, shape))
    target = tmp_path / "out.npy"
    fill(target, expected, spans, fortran=True)
    got = np.load(target)
    assert got.flags.f_contiguous and not got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    assert os.path.getsize(target) > expected.nbytes
    assert leftovers(tmp_path) == ["out.npy"]
    # and jitperf maps it back the same
    np.testing.assert_array_equal(open_input(target).array, expected)


def test_npy_output_reuses_one_pooled_buffer(tmp_path):
    from jitperf.pool import BufferPool

    pool = BufferPool(max_per_key=2)
    expected = sample("float32", (12, 2))
    # the shorter last region is a view of the same buffer, not a second one
    fill(tmp_path / "out.npy", expected, [(0, 5), (5, 10), (10, 12)], pool=pool)
    assert pool.misses == 1 and pool.idle == 1
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


@pytest.mark.parametrize("fortran", [False, True])
def test_npy_output_out_of_order(tmp_path, fortran):
    target = tmp_path / "out.npy"
    with pytest.raises(ValueError):
        with AtomicFile(target) as af:
            out = NpyOutput(af, (10, 2), "float64", fortran=fortran)
            with pytest.raises(ValueError):
                out.region(2, 4)  # not starting at 0
            r = out.region(0, 4)
            r[...] = 1
            out.done(0, 4, r)
            with pytest.raises(ValueError):
                out.region(0, 4)  # again
            with pytest.raises(ValueError):
                out.region(5, 7)  # a gap
            with pytest.raises(ValueError):
                out.region(3, 6)  # overlapping
            out.close()  # rows 4: missing
    assert not target.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fortran", [False, True])
def test_npy_output_close_before_all_rows(tmp_path, fortran):
    target = tmp_path / "out.npy"
    with pytest.raises(ValueError) as info:
        with AtomicFile(target) as af:
            out = NpyOutput(af, (6, 3), "float32", fortran=fortran)
            r = out.region(0, 5)
            r[...] = 0
            out.done(0, 5, r)
            out.close()
    assert str(target) in str(info.value)
    assert leftovers(tmp_path) == []
    with pytest.raises(ValueError):
        with AtomicFile(target) as af:
            NpyOutput(af, (6,), "float32").close()  # nothing written
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- generate


def data_bytes(path):
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.read()


@pytest.mark.parametrize(
    "shape,want", [(1000, (1000,)), ("1000", (1000,)), ((250, 4), (250, 4)), ("25,40", (25, 40))]
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8"])
def test_generate_npy(tmp_path, dtype, shape, want):
    path = tmp_path / "g.npy"
    assert generate(path, dtype, shape) == str(path)
    a = np.load(path)
    assert a.dtype == np.dtype(dtype)
    assert a.shape == want
    assert a.flags.c_contiguous
    assert leftovers(tmp_path) == ["g.npy"]
    np.testing.assert_array_equal(open_input(path).array, a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_generate_raw_size_and_every_dtype(tmp_path, dtype):
    path = tmp_path / "g.bin"
    generate(path, dtype, (300, 7), seed=3)
    assert os.path.getsize(path) == 300 * 7 * dtype.itemsize
    raw = np.fromfile(path, dtype=dtype)
    # the same values as the .npy of the same arguments
    generate(tmp_path / "g.npy", dtype, (300, 7), seed=3)
    assert data_bytes(tmp_path / "g.npy") == path.read_bytes()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        assert raw.min() >= info.min and raw.max() <= info.max
        assert len(np.unique(raw)) > 10
    else:
        assert np.isfinite(raw).all()
        assert abs(raw.mean()) < 0.1 and abs(raw.std() - 1) < 0.1


def test_generate_raw_across_blocks(tmp_path):
    n = 2 * BLOCK + 5
    path = tmp_path / "g.raw"
    seen = []
    generate(path, "int8", n, progress=seen.append)
    assert os.path.getsize(path) == n
    assert sum(seen) == n
    assert len(seen) == 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generate_nan_fraction(tmp_path, dtype):
    path = tmp_path / "g.npy"
    generate(path, dtype, 1_000_000, nan_fraction=0.1, seed=7)
    a = np.load(path)
    frac = np.isnan(a).mean()
    assert abs(frac - 0.1) <= 0.005, frac
    assert np.isfinite(a[~np.isnan(a)]).all()


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_generate_nan_fraction_ends(tmp_path, fraction):
    path = tmp_path / "g.npy"
    generate(path, "float64", 5000, nan_fraction=fraction)
    assert np.isnan(np.load(path)).mean() == fraction


@pytest.mark.parametrize("dist", ["normal", "uniform"])
@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_generate_seed_determinism(tmp_path, dtype, dist):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    generate(a, dtype, (BLOCK // 4 + 3, 5), seed=11, dist=dist)
    generate(b, dtype, (BLOCK // 4 + 3, 5), seed=11, dist=dist)
    generate(c, dtype, (BLOCK // 4 + 3, 5), seed=12, dist=dist)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert not np.array_equal(np.load(a), np.load(c))


def test_generate_default_seed_is_fixed(tmp_path):
    generate(tmp_path / "a.bin", "float64", 1000)
    generate(tmp_path / "b.bin", "float64", 1000)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generate_uniform_in_unit_interval(tmp_path, dtype):
    path = tmp_path / "u.npy"
    generate(path, dtype, (1000, 100), dist="uniform", seed=5)
    a = np.load(path)
    assert a.min() >= 0.0
    assert a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.01


def test_generate_uniform_float32_never_reaches_one(tmp_path):
    """uniform float32 is documented as [0, 1): it must never hold 1.0. A
    float64 draw just below 1 rounds up to 1.0f when cast (about 1 in 2**25
    draws); seed 24 has one in its first block."""
    path = tmp_path / "u.npy"
    generate(path, "float32", BLOCK, dist="uniform", seed=24)
    a = np.load(path)
    assert a.min() >= 0.0
    assert a.max() < 1.0, f"{int((a >= 1.0).sum())} value(s) equal to 1.0"


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint64"])
def test_generate_integer_dtypes(tmp_path, dtype):
    dt = np.dtype(dtype)
    normal = tmp_path / "n.npy"
    generate(normal, dtype, 20000, dist="normal")
    a = np.load(normal)
    assert a.dtype == dt
    info = np.iinfo(dt)
    assert a.min() >= info.min and a.max() <= info.max
    if dt.kind == "i":
        # N(0, 1) scaled by 100, clipped only for int8
        assert a.min() < -150 or dt == np.int8
        assert abs(float(a.mean())) < 5
    else:
        assert a.min() == 0  # the negative half clipped to 0
    uniform = tmp_path / "u.npy"
    generate(uniform, dtype, 20000, dist="uniform")
    u = np.load(uniform)
    assert u.dtype == dt
    assert u.min() >= 0
    assert 40 < float(u.mean()) < 60


@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_generate_integer_uniform_is_in_0_100(tmp_path, dtype):
    """Integer uniform data are documented as over [0, 100)."""
    path = tmp_path / "u.npy"
    generate(path, dtype, 20000, dist="uniform")
    u = np.load(path)
    assert u.min() >= 0
    assert u.max() < 100, f"{int((u >= 100).sum())} value(s) of 100"


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint16", "int64"])
def test_generate_nan_fraction_with_integers_raises(tmp_path, dtype):
    path = tmp_path / "g.npy"
    with pytest.raises(InputError, match="nan"):
        generate(path, dtype, 100, nan_fraction=0.1)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "kw",
    [
        {"dtype": "float16"},
        {"dtype": ">f4"},
        {"shape": "0"},
        {"shape": (3, 0)},
        {"shape": "-1"},
        {"shape": "1,2,3"},
        {"nan_fraction": -0.1},
        {"nan_fraction": 1.5},
        {"dist": "poisson"},
    ],
)
def test_generate_bad_arguments(tmp_path, kw):
    args = {"dtype": "float32", "shape": 10}
    args.update(kw)
    path = tmp_path / "g.npy"
    with pytest.raises(InputError):
        generate(path, args.pop("dtype"), args.pop("shape"), **args)
    assert leftovers(tmp_path) == []


def test_generate_fortran_needs_npy(tmp_path):
    with pytest.raises(InputError):
        generate(tmp_path / "g.bin", "float32", (4, 4), fortran=True)
    assert leftovers(tmp_path) == []


def test_generate_existing_target(tmp_path):
    path = tmp_path / "g.npy"
    path.write_bytes(b"keep")
    with pytest.raises(OutputExists):
        generate(path, "float32", 10)
    assert path.read_bytes() == b"keep"
    generate(path, "float32", 10, force=True)
    assert np.load(path).shape == (10,)
    assert leftovers(tmp_path) == ["g.npy"]


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_generate_fortran(tmp_path, dtype):
    f, c = tmp_path / "f.npy", tmp_path / "c.npy"
    generate(f, dtype, (300, 6), fortran=True, seed=2)
    generate(c, dtype, (300, 6), seed=2)
    af, ac = np.load(f), np.load(c)
    assert af.flags.f_contiguous and not af.flags.c_contiguous
    assert af.shape == ac.shape == (300, 6)
    # the same stream of values, laid down in Fortran order
    np.testing.assert_array_equal(af.ravel(order="F"), ac.ravel(order="C"))
    assert data_bytes(f) == data_bytes(c)
    src = open_input(f)
    assert src.fortran
    np.testing.assert_array_equal(src.array, af)
