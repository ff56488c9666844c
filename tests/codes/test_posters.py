"""Campaign posters through genWxacode's main_handler, against the WeChat emulator over real HTTP (codes, CloudBase
storage): the sharer's own code composed into the operator's template with their avatar and nickname, read back by
an independent QR decoder (zxing-cpp, not the library that drew it), cached like codes, batched at the code pace."""

import io
import threading
import time

import pytest
import zxingcpp
from PIL import Image

from shared.platform import instance
from shared.sharing.scene import decode_scene
from tests.conftest import drain, gen_wxacode_handler, openid_for, scf_context, snapshot, written

RED, BLUE, GREEN = (220, 30, 30), (30, 60, 200), (20, 160, 60)


@pytest.fixture(scope="module")
def gen_module(emulator):
    with gen_wxacode_handler(emulator, WXACODE_RATE_PER_MIN="3000", WXACODE_POSTER_LANES="2") as module:
        yield module


def put_file(emulator, path, data, content_type="image/jpeg"):
    """A file in the emulator's CloudBase storage, as wx.cloud.uploadFile would leave it: its fileID."""
    emulator.files[path] = data
    emulator.file_meta[path] = {"contentType": content_type}
    return f"cloud://{emulator.tcb_env}.{emulator.tcb_bucket}/{path}"


def picture(color, size=(400, 400), fmt="JPEG"):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def stored(emulator, file_id):
    path = file_id.split("/", 3)[3]
    return Image.open(io.BytesIO(emulator.files[path]))


def decoded_texts(image):
    return [result.text for result in zxingcpp.read_barcodes(image)]


def near(pixel, color, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


def poster(gen, user="alice", **fields):
    return gen({"action": "poster", "productId": "sku-42", **fields}, as_user=user)


def set_profile(invoke, user, **fields):
    answer = invoke({"action": "profile", **fields}, as_user=user)
    assert answer["ok"], answer
    return answer


def test_a_posters_code_decodes_to_the_sharers_scene(gen, invoke, emulator, database):
    avatar = put_file(emulator, "avatars/alice.jpg", picture(RED))
    set_profile(invoke, "alice", nickname="小明同学", avatarFileID=avatar)
    made = poster(gen)
    assert made["ok"] and made["cached"] is False, made
    assert (made["width"], made["height"], made["contentType"]) == (1080, 1920, "image/jpeg")
    image = stored(emulator, made["fileID"])
    assert image.size == (1080, 1920) and image.format == "JPEG"
    assert decoded_texts(image) == [f"pages/product/product?scene={made['scene']}"]
    code = database.users.find_one({"_id": openid_for("alice")})["code"]
    claim = decode_scene(made["scene"])
    assert (claim.inviter, claim.product_id, claim.channel) == (code, "sku-42", "poster")
    # The default template's avatar is a circle at (90, 1500) of 140 px: red inside, the background at its corner.
    assert near(image.getpixel((160, 1570)), RED) and near(image.getpixel((93, 1503)), (255, 247, 238), 12)
    intent = database.share_intents.find_one({"sharer": code})
    assert intent["source"] == "poster" and intent["channel"] == "poster"
    assert made["path"] == f"/pages/product/product?id=sku-42&i={code}&c=poster"  # for the share sheet's entrance


def test_someone_scanning_a_poster_lands_attributed_to_the_sharer(gen, invoke, emulator):
    made = poster(gen)
    page, _, query = decoded_texts(stored(emulator, made["fileID"]))[0].partition("?")
    scene = query.removeprefix("scene=")  # what WeChat hands onLoad as options.scene
    landed = invoke({"action": "land", "query": {"scene": scene}, "page": page, "launchScene": 1047}, as_user="bob")
    assert landed["recorded"] and landed["entry"] == "scan" and landed["channel"] == "poster", landed
    assert landed["attributedTo"] == decode_scene(made["scene"]).inviter and landed["productId"] == "sku-42"


def test_the_same_poster_twice_renders_once(gen, invoke, emulator):
    set_profile(invoke, "alice", nickname="小明")
    first = poster(gen)
    files, downloads = len(emulator.files), emulator.calls["tcb/batchdownloadfile"]
    again = poster(gen)
    assert again["cached"] is True and again["fileID"] == first["fileID"]
    assert emulator.calls["getwxacodeunlimit"] == 1  # no WeChat call for the repeat, not even a download link
    assert len(emulator.files) == files and emulator.calls["tcb/batchdownloadfile"] == downloads


def test_a_new_nickname_makes_a_new_poster_with_the_same_code(gen, invoke, emulator):
    set_profile(invoke, "alice", nickname="小明")
    first = poster(gen)
    set_profile(invoke, "alice", nickname="明明")
    renamed = poster(gen)
    assert renamed["cached"] is False and renamed["fileID"] != first["fileID"] and renamed["scene"] == first["scene"]
    assert emulator.calls["getwxacodeunlimit"] == 1  # the code itself came from its cache


def test_an_operators_template_draws_its_pictures_and_product_titles(gen, invoke, emulator):
    background = put_file(emulator, "posters/spring/bg.png", picture(BLUE, (720, 1280), "PNG"), "image/png")
    product = put_file(emulator, "posters/spring/sku-42.jpg", picture(GREEN, (800, 600)))
    template = {
        "name": "spring",
        "width": 720,
        "height": 1280,
        "format": "png",
        "title": "春季上新",
        "products": {"sku-42": {"title": "有机绿茶 250g", "image": product}},
        "layers": [
            {"type": "image", "box": [0, 0, 720, 1280], "source": background},
            {"type": "image", "box": [60, 60, 600, 600], "source": "product", "radius": 24},
            {"type": "text", "box": [60, 700, 600, 120], "text": "{title}", "size": 44, "color": "#FFFFFF"},
            {"type": "rect", "box": [420, 900, 260, 260], "color": "#FFFFFF", "radius": 20},
            {"type": "code", "box": [440, 920, 220, 220]},
        ],
    }
    saved = gen({"action": "posterTemplate", "template": template}, as_user="admin")
    assert saved["ok"] and saved["template"] == "spring" and saved["files"] == 2, saved
    made = poster(gen, template="spring")
    assert made["ok"] and (made["width"], made["height"], made["contentType"]) == (720, 1280, "image/png"), made
    image = stored(emulator, made["fileID"]).convert("RGB")
    assert near(image.getpixel((360, 360)), GREEN) and near(image.getpixel((10, 10)), BLUE)
    assert near(image.getpixel((62, 62)), BLUE)  # the product picture's rounded corner shows the background
    assert decoded_texts(image) == [f"pages/product/product?scene={made['scene']}"]
    other = poster(gen, productId="sku-7", template="spring")  # not in the template's list: its title, no picture
    assert other["ok"] and not near(stored(emulator, other["fileID"]).convert("RGB").getpixel((360, 360)), GREEN)


def test_a_sharer_with_no_profile_gets_a_poster_with_an_initial(gen, emulator):
    made = poster(gen, user="carol")
    assert made["ok"]
    assert decoded_texts(stored(emulator, made["fileID"])) == [f"pages/product/product?scene={made['scene']}"]


def test_an_unreadable_avatar_still_makes_a_poster(gen, invoke, emulator):
    set_profile(invoke, "alice", nickname="小明", avatarFileID=put_file(emulator, "avatars/gone.jpg", b"not a picture"))
    assert poster(gen)["ok"]
    del emulator.files["avatars/gone.jpg"]
    set_profile(invoke, "alice", nickname="小明明")  # a new poster, its avatar now missing
    assert poster(gen)["ok"]


def bad_templates(emulator):
    ok_layers = [{"type": "code", "box": [100, 100, 300, 300]}]
    text_file = put_file(emulator, "posters/readme.txt", b"hello", "text/plain")
    huge = put_file(emulator, "posters/huge.jpg", b"\xff\xd8" + bytes(6 * 1024 * 1024))
    broken = put_file(emulator, "posters/broken.png", picture(GREEN, fmt="PNG")[:60] + b"\x00" * 40, "image/png")
    missing = f"cloud://{emulator.tcb_env}.{emulator.tcb_bucket}/posters/nowhere.jpg"

    def template(**fields):
        return {"name": "bad", "width": 720, "height": 1280, "layers": ok_layers, **fields}

    return [
        ("no code layer", template(layers=[{"type": "rect", "box": [0, 0, 10, 10]}])),
        ("two code layers", template(layers=ok_layers * 2)),
        ("a box outside the canvas", template(layers=[{"type": "code", "box": [600, 100, 300, 300]}])),
        ("a code too small to scan", template(layers=[{"type": "code", "box": [0, 0, 100, 100]}])),
        ("an unknown layer", template(layers=[*ok_layers, {"type": "video", "box": [0, 0, 10, 10]}])),
        ("a text layer with no text", template(layers=[*ok_layers, {"type": "text", "box": [0, 0, 10, 10]}])),
        ("a bad colour", template(background="red")),
        ("an oversized canvas", template(width=8000)),
        ("an unknown field", template(effects=["glow"])),
        ("a bad name", template(name="../default")),
        (
            "a missing picture",
            template(layers=[*ok_layers, {"type": "image", "box": [0, 0, 10, 10], "source": missing}]),
        ),
        ("a file that is no picture", template(products={"sku-42": {"image": text_file}})),
        ("an oversized picture", template(products={"sku-42": {"image": huge}})),
        ("a truncated picture", template(products={"sku-42": {"image": broken}})),
        ("a font that is no font", template(font=text_file)),
    ]


BAD_TEMPLATE_CASES = [
    "no code layer",
    "two code layers",
    "a box outside the canvas",
    "a code too small to scan",
    "an unknown layer",
    "a text layer with no text",
    "a bad colour",
    "an oversized canvas",
    "an unknown field",
    "a bad name",
    "a missing picture",
    "a file that is no picture",
    "an oversized picture",
    "a truncated picture",
    "a font that is no font",
]


@pytest.mark.parametrize("case", BAD_TEMPLATE_CASES)
def test_bad_templates_are_refused_and_nothing_is_stored(gen, emulator, database, case):
    template = dict(bad_templates(emulator))[case]
    before, files = written(database), len(emulator.files)
    refused = gen({"action": "posterTemplate", "template": template}, as_user="admin")
    assert refused["error"]["code"] == "BAD_INPUT", refused
    assert written(database) == before and len(emulator.files) == files
    assert emulator.calls["getwxacodeunlimit"] == 0


def test_templates_are_for_admins_only(gen, database):
    template = {"name": "mine", "width": 720, "height": 1280, "layers": [{"type": "code", "box": [0, 0, 300, 300]}]}
    before = snapshot(database)
    assert gen({"action": "posterTemplate", "template": template}, as_user="mallory")["error"]["code"] == "FORBIDDEN"
    assert snapshot(database) == before


def test_a_picture_deleted_after_the_template_was_saved_stores_no_poster(gen, emulator, database):
    product = put_file(emulator, "posters/p.jpg", picture(GREEN))
    template = {
        "name": "fragile",
        "width": 720,
        "height": 1280,
        "products": {"sku-42": {"image": product}},
        "layers": [{"type": "image", "box": [0, 0, 720, 720]}, {"type": "code", "box": [400, 900, 300, 300]}],
    }
    assert gen({"action": "posterTemplate", "template": template}, as_user="admin")["ok"]
    del emulator.files["posters/p.jpg"]
    instance.reset()  # a new instance (a warm one keeps the pictures it has read)
    instance_files = len(emulator.files)
    refused = poster(gen, template="fragile", productId="sku-42")
    assert refused["error"]["code"] == "BAD_INPUT" and "not in storage" in refused["error"]["message"], refused
    assert emulator.calls["getwxacodeunlimit"] == 0 and len(emulator.files) == instance_files
    assert database.wxacodes.count_documents({}) == 0


BAD_REQUESTS = [
    ("unknown template", {"template": "winter"}),
    ("template name with a path", {"template": "../x"}),
    ("operator product", {"productId": {"$ne": ""}}),
    ("a field in the wrong case", {"Template": "default"}),
    ("bad env", {"envVersion": "beta"}),
    ("page with a query", {"page": "pages/product/product?x=1"}),
]


@pytest.mark.parametrize("case,fields", BAD_REQUESTS, ids=[case for case, _ in BAD_REQUESTS])
def test_bad_poster_requests_write_nothing(gen, emulator, database, case, fields):
    before = snapshot(database)
    refused = poster(gen, **fields)
    assert refused["error"]["code"] == "BAD_INPUT", refused
    assert snapshot(database) == before and emulator.calls["getwxacodeunlimit"] == 0


def test_posters_for_other_sharers_are_for_admins_only(gen, sharer_code, emulator):
    bobs = sharer_code("bob")
    assert poster(gen, user="mallory", inviter=bobs)["error"]["code"] == "FORBIDDEN"
    made = poster(gen, user="admin", inviter=bobs)
    assert made["ok"] and decode_scene(made["scene"]).inviter == bobs


def test_200_posters_in_a_batch_stay_within_the_code_rate_cap(gen, gen_module, sharer_code, emulator, scf_api):
    """A large poster batch renders in lanes — invocations side by side, here 2 (WXACODE_POSTER_LANES) — each drawing
    codes at its share of WXACODE_RATE_PER_MIN (3000 here: 50 a second together), however fast posters render."""
    codes = [sharer_code(name) for name in ("alice", "bob", "carol", "dave")]
    items = [{"kind": "poster", "inviter": codes[i % 4], "productId": f"sku-{i}"} for i in range(200)]
    submitted = {}
    first_lane = threading.Thread(target=lambda: submitted.update(job=gen({"batch": items}, as_user="admin")))
    first_lane.start()  # the admin's call runs lane 0 and starts lane 1 through SCF Invoke ...
    deadline = time.monotonic() + 30
    while not scf_api.invocations and time.monotonic() < deadline:
        time.sleep(0.01)
    lane = scf_api.invocations.pop(0)  # ... which runs meanwhile, as another instance would
    gen_module.main_handler(lane["event"], scf_context(None, function_name="genWxacode", time_limit_in_ms=60000))
    first_lane.join()
    drain(scf_api, gen_module, 60000)  # continuations, on a machine too slow to finish a lane in one invocation
    job = gen({"jobId": submitted["job"]["jobId"]}, as_user="admin")
    assert job["ok"] and job["status"] == "done" and (job["generated"], job["failed"]) == (200, 0), job
    assert [lane["processed"] for lane in job["lanes"]] == [100, 100]
    times = sorted(emulator.code_times)
    assert len(times) == 200 and emulator.calls["getwxacodeunlimit"] == 200
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 52, busiest  # 25 a second per lane, evenly spaced (+1 per lane at a window's edges)
    assert times[-1] - times[0] >= 99 / 25 - 0.1
    for i in (0, 199):
        made = gen({"action": "poster", "productId": f"sku-{i}", "inviter": codes[i % 4]}, as_user="admin")
        assert made["cached"] is True
        assert decoded_texts(stored(emulator, made["fileID"])) == [f"pages/product/product?scene={made['scene']}"]
    again = gen({"batch": items}, as_user="admin")  # the same batch: where its lanes stand, nothing redrawn
    assert again["status"] == "done" and emulator.calls["getwxacodeunlimit"] == 200


def test_a_batch_naming_an_unknown_template_writes_nothing(gen, sharer_code, emulator, database):
    code = sharer_code("alice")
    before = snapshot(database)
    items = [{"kind": "poster", "inviter": code, "productId": "p1", "template": "winter"}]
    refused = gen({"batch": items}, as_user="admin")
    assert refused["error"]["code"] == "BAD_INPUT" and refused["error"]["field"] == "template", refused
    assert snapshot(database) == before and emulator.calls["getwxacodeunlimit"] == 0


def test_a_small_poster_batch_runs_in_one_lane(gen, sharer_code, emulator, scf_api):
    code = sharer_code("alice")
    job = gen(
        {"batch": [{"kind": "poster", "inviter": code, "productId": f"p{i}"} for i in range(20)]}, as_user="admin"
    )
    assert job["status"] == "done" and job["generated"] == 20 and "lanes" not in job and not scf_api.invocations


def test_the_preview_tool_draws_the_readme_poster(tmp_path):
    from tools import poster_preview

    out = tmp_path / "poster.jpg"
    assert poster_preview.main(["--out", str(out), "--nickname", "阿花"]) == 0
    image = Image.open(out)
    assert image.size == (1080, 1920)
    assert decoded_texts(image) == ["pages/product/product?scene=1pAb3dE9.tea-gift-box"]
    assert near(image.convert("RGB").getpixel((540, 700)), (46, 111, 82))  # the sample product, in its box


def test_a_lane_that_could_not_start_is_carried_on_by_a_resume(gen, sharer_code, emulator, scf_api):
    code = sharer_code("alice")
    items = [{"kind": "poster", "inviter": code, "productId": f"p{i}"} for i in range(100)]
    scf_api.fail_with = "ResourceNotFound.Function"  # Invoke refused: lane 1 cannot start
    job = gen({"batch": items}, as_user="admin")
    assert job["status"] == "paused" and [lane["status"] for lane in job["lanes"]] == ["done", "paused"], job
    assert job["lastError"]["code"] and job["processed"] == 50
    scf_api.fail_with = None
    resumed = gen({"jobId": job["jobId"], "resume": True}, as_user="admin")
    assert resumed["status"] == "done" and resumed["generated"] == 100 and resumed["processed"] == 100, resumed
