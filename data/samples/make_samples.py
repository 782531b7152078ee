#!/usr/bin/env python3
"""Writes the small real-format sample files under data/samples/ that tests/data/ reads.

Run by developers only (PIL + numpy); the outputs are committed. Every label map is a formula
of (x, y) that tests/data/samples.h recomputes, so the tests check indices exactly:
  voc/       Pascal VOC 2012 layout: JPEGs, 8-bit palette PNGs in the VOC colormap with 255
             boundary rings around each object, ImageSets/Segmentation/{train,val,trainval}.txt
  folder/    the folder layout (images/, masks/ grey PNGs, splits/, classes.txt)
  labelme/   LabelMe JSONs (TTPLA labels, a `Void` polygon, overlapping shapes, one with an
             embedded imageData) and labelme_expected/ = PIL's rasterisation as labelme's
             shape_to_mask does it
  labelme_bad/ a LabelMe JSON with an unknown label
  png/       PNG variants: palette depths 1/2/4/8, Adam7-interlaced palette, grey, RGB in the VOC
             colormap, RGB with an unknown colour, 16-bit grey, a truncated file, not a PNG
  bad/       a mask of the wrong size and a mask with a class index out of range for folder/
"""
import base64
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))


def voc_colormap():
    cmap = np.zeros((256, 3), np.uint8)
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def out(*parts):
    p = os.path.join(HERE, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def noise_image(h, w, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 8 % 256], -1)
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


# ---- Pascal VOC: rectangles of a class with a 1-pixel 255 ring (VOC's boundary) around them.
VOC_OBJECTS = {  # id: (W, H, [(class, x0, y0, x1, y1) half-open])
    "2007_000032": (40, 30, [(1, 5, 4, 20, 14), (15, 24, 10, 36, 26)]),
    "2007_000033": (39, 31, [(7, 2, 15, 30, 28), (20, 32, 2, 38, 8)]),
}


def voc_mask(w, h, objects):
    m = np.zeros((h, w), np.uint8)
    for cls, x0, y0, x1, y1 in objects:
        m[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = 255
        m[y0:y1, x0:x1] = cls
    return m


def write_voc():
    cmap = voc_colormap()
    for i, (vid, (w, h, objs)) in enumerate(VOC_OBJECTS.items()):
        Image.fromarray(noise_image(h, w, i)).save(out("voc", "JPEGImages", vid + ".jpg"), quality=90)
        p = Image.fromarray(voc_mask(w, h, objs), "P")
        p.putpalette(cmap.flatten().tolist())
        p.save(out("voc", "SegmentationClass", vid + ".png"))
    sets = {"train": ["2007_000032"], "val": ["2007_000033"], "trainval": list(VOC_OBJECTS)}
    for name, ids in sets.items():
        with open(out("voc", "ImageSets", "Segmentation", name + ".txt"), "w") as f:
            f.write("".join(i + "\n" for i in ids))


# ---- folder layout: 3 classes; a: (x + y) % 3 (12x8 PNG); b: (x * y) % 3 with 255 at (9, 5).
def folder_mask(name):
    if name == "a":
        yy, xx = np.mgrid[0:8, 0:12]
        return ((xx + yy) % 3).astype(np.uint8)
    yy, xx = np.mgrid[0:6, 0:10]
    m = ((xx * yy) % 3).astype(np.uint8)
    m[5, 9] = 255
    return m


def write_folder():
    Image.fromarray(noise_image(8, 12, 10)).save(out("folder", "images", "a.png"))
    Image.fromarray(noise_image(6, 10, 11)).save(out("folder", "images", "b.jpg"), quality=90)
    for n in ("a", "b"):
        Image.fromarray(folder_mask(n), "L").save(out("folder", "masks", n + ".png"))
    with open(out("folder", "classes.txt"), "w") as f:
        f.write("background\ncable\ntower\n")
    with open(out("folder", "splits", "train.txt"), "w") as f:
        f.write("a\nb\n")
    with open(out("folder", "splits", "val.txt"), "w") as f:
        f.write("b\r\n\n")  # CRLF and a blank line: both tolerated
    # bad/: a mask of the wrong size for 'a', and one with class 7 (>= 3 classes) at (x=3, y=2)
    Image.fromarray(np.zeros((7, 10), np.uint8), "L").save(out("bad", "mask_wrong_size.png"))
    m = folder_mask("a").copy()
    m[2, 3] = 7
    Image.fromarray(m, "L").save(out("bad", "class_out_of_range.png"))


# ---- PNG variants: index(x, y) = (5x + 3y) % 2^depth on a 13x9 image (odd width: bit padding).
def formula(w, h, k):
    yy, xx = np.mgrid[0:h, 0:w]
    return ((5 * xx + 3 * yy) % k).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_interlaced_palette(path, idx, palette):
    """An Adam7-interlaced 8-bit palette PNG (PIL cannot write interlaced files)."""
    h, w = idx.shape
    raw = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        sub = idx[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\x00" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 1)
    plte = bytes(np.asarray(palette, np.uint8).flatten())
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"PLTE", plte)
    data += png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def write_pngs():
    w, h = 13, 9
    cmap = voc_colormap()
    for depth in (1, 2, 4, 8):
        k = 1 << depth
        p = Image.fromarray(formula(w, h, k), "P")
        p.putpalette(cmap[:k].flatten().tolist())
        p.save(out("png", f"palette{depth}.png"), bits=depth)
    # A palette whose colours are not VOC's and repeat: indices must still come out exactly.
    p = Image.fromarray(formula(w, h, 256), "P")
    p.putpalette([((i * 37) % 256) & 0xF0 if c == 0 else 0 for i in range(256) for c in range(3)])
    p.save(out("png", "palette8_odd_colours.png"))
    write_interlaced_palette(out("png", "palette_interlaced.png"), formula(w, h, 256), cmap)
    Image.fromarray(formula(w, h, 256), "L").save(out("png", "grey.png"))
    Image.fromarray(cmap[formula(w, h, 256)], "RGB").save(out("png", "rgb_voc.png"))
    bad = cmap[formula(w, h, 21)].copy()
    bad[4, 6] = (1, 2, 3)  # not a VOC colour, at x=6, y=4
    Image.fromarray(bad, "RGB").save(out("png", "rgb_unknown.png"))
    Image.fromarray(formula(w, h, 256).astype(np.uint16) * 257).save(out("png", "grey16.png"))
    buf = io.BytesIO()
    Image.fromarray(noise_image(h, w, 3)).save(buf, format="PNG")
    with open(out("png", "corrupt_truncated.png"), "wb") as f:
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    with open(out("png", "not_an_image.png"), "w") as f:
        f.write("this is a text file with a .png name\n")


# ---- LabelMe (TTPLA): a lattice tower, a thin cable over it, a void region, a wooden pole.
LABELME_SHAPES = [
    ("tower_lattice", "polygon", [[14.2, 39.0], [30.7, 39.0], [25.1, 6.4], [19.6, 6.4]]),
    ("cable", "polygon", [[0.0, 12.0], [47.0, 17.0], [47.0, 18.0], [0.0, 13.0]]),  # 1-2 px thin
    ("Void", "polygon", [[20.5, 25.5], [28.5, 25.5], [28.5, 33.5], [20.5, 33.5]]),
    ("tower_wooden", "rectangle", [[38.0, 20.0], [41.0, 39.0]]),
    ("tower_tucohy", "polygon", [[2, 30], [10, 22], [10, 38], [2, 26], [9, 26]]),  # self-crossing
]
TTPLA = {"background": 0, "cable": 1, "tower_lattice": 2, "tower_tucohy": 3, "tower_wooden": 4, "void": 255}


def labelme_mask(h, w, shapes):
    """labelme.utils.shapes_to_label: shape_to_mask with PIL, later shapes over earlier ones."""
    cls = np.zeros((h, w), np.uint8)
    for label, kind, pts in shapes:
        m = Image.new("1", (w, h), 0)
        d = ImageDraw.Draw(m)
        xy = [tuple(p) for p in pts]
        if kind == "rectangle":
            d.rectangle(xy, outline=1, fill=1)
        else:
            d.polygon(xy=xy, outline=1, fill=1)
        cls[np.array(m, bool)] = TTPLA[label.lower()]
    return cls


def write_labelme():
    w, h = 48, 40
    Image.fromarray(noise_image(h, w, 20)).save(out("labelme", "tower_0001.jpg"), quality=90)
    doc = {"version": "4.5.6", "flags": {}, "imagePath": "tower_0001.jpg", "imageData": None,
           "imageHeight": h, "imageWidth": w,
           "shapes": [{"label": l, "points": p, "group_id": None, "shape_type": k, "flags": {}}
                      for l, k, p in LABELME_SHAPES]}
    with open(out("labelme", "tower_0001.json"), "w") as f:
        json.dump(doc, f, indent=1)
    Image.fromarray(labelme_mask(h, w, LABELME_SHAPES), "L").save(out("labelme_expected", "tower_0001.png"))
    # Embedded image (PNG in imageData), imagePath pointing nowhere; an old file without shape_type.
    buf = io.BytesIO()
    Image.fromarray(noise_image(20, 24, 21)).save(buf, format="PNG")
    shapes2 = [("CABLE", "polygon", [[0, 3], [23, 9], [23, 11], [0, 5]])]
    doc2 = {"imagePath": "missing_on_purpose.png", "imageData": base64.b64encode(buf.getvalue()).decode(),
            "imageHeight": 20, "imageWidth": 24,
            "shapes": [{"label": l, "points": p} for l, _, p in shapes2]}
    with open(out("labelme", "tower_0002.json"), "w") as f:
        json.dump(doc2, f)
    Image.fromarray(labelme_mask(20, 24, shapes2), "L").save(out("labelme_expected", "tower_0002.png"))
    bad = dict(doc, imagePath="../labelme/tower_0001.jpg",
               shapes=doc["shapes"][:1] + [{"label": "insulator", "points": [[1, 1], [5, 1], [5, 5]],
                                             "shape_type": "polygon"}])
    with open(out("labelme_bad", "unknown_label.json"), "w") as f:
        json.dump(bad, f)


if __name__ == "__main__":
    write_voc()
    write_folder()
    write_pngs()
    write_labelme()
    print("samples written under", HERE)
