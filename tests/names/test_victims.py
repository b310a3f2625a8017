"""Names as victim lists write them (issue 13, item 2): each case in Arabic and Latin."""

import pandas as pd
import pytest

from undercount.names import standardise
from undercount.names.keys import skeleton
from undercount.names.victims import parse_victim_name


def kinds(raw):
    return [k for k, _ in parse_victim_name(raw).unplaced]


@pytest.mark.parametrize(
    ("raw", "placed"),
    [
        # one to six parts
        ("Mahmoud", ("mahmoud", None, None, None)),
        ("محمود", ("محمود", None, None, None)),
        ("Mahmoud Othman", ("mahmoud", None, None, "othman")),
        ("محمود حسين عثمان", ("محمود", "حسين", None, "عثمان")),
        ("Mahmoud Hussein Ali Othman", ("mahmoud", "hussein", "ali", "othman")),
        ("محمود حسين علي سالم عثمان", ("محمود", "حسين", "علي", "عثمان")),
        # compound names stay one part
        ("عبد الرحمن اسماعيل ابو جودة", ("عبدالرحمن", "اسماعيل", None, "ابوجوده")),
        ("Abd al-Rahman Ismail Abu Jouda", ("abdalrahman", "ismail", None, "abujouda")),
        ("Abdel Fattah Nasser El-Masri", ("abdalfattah", "nasser", None, "al-masri")),
    ],
)
def test_parts_and_compounds(raw, placed):
    assert parse_victim_name(raw).placed == placed


@pytest.mark.parametrize(
    ("raw", "given", "family"),
    [
        ("Dr. Medhat Saidam", "medhat", "saidam"),
        ("الدكتور مدحت صيدم", "مدحت", "صيدم"),
        ("Sheikh Ahmad Yassin", "ahmad", "yassin"),
        ("الشيخ احمد ياسين", "احمد", "ياسين"),
        ("Eng. Ahmad Yassin", "ahmad", "yassin"),
        ("المهندس احمد ياسين", "احمد", "ياسين"),
        ("Hajj Hamdan Al-Najjar", "hamdan", "al-najjar"),
        ("الحاج حمدان النجار", "حمدان", "النجار"),
        ("الشهيد حمدان النجار", "حمدان", "النجار"),
        ("الطفل حمدان النجار", "حمدان", "النجار"),
        ("Martyr Hamdan Al-Najjar", "hamdan", "al-najjar"),
    ],
)
def test_titles_are_not_name_parts(raw, given, family):
    v = parse_victim_name(raw)
    assert (v.given, v.family) == (given, family)
    assert kinds(raw) == ["title"]


def test_sheikh_is_a_family_name_when_little_follows():
    # "Al-Sheikh" / الشيخ is also a family name: a title only before two or more words.
    assert parse_victim_name("الشيخ محمد").given == "الشيخ"
    assert parse_victim_name("Sheikh Ahmad").given == "sheikh"


@pytest.mark.parametrize(
    ("raw", "father", "family"),
    [
        ("Daughter of Ahmed Al-Dada", "ahmed", "al-dada"),
        ("بنت احمد الدادا", "احمد", "الدادا"),
        ("Son of Ahmed Al-Dada", "ahmed", "al-dada"),
        ("ابن احمد الدادا", "احمد", "الدادا"),
        ("Child of Ahmed Al-Dada", "ahmed", "al-dada"),
    ],
)
def test_child_of_places_father_and_family_not_given(raw, father, family):
    v = parse_victim_name(raw)
    assert v.placed == (None, father, None, family)
    assert v.parts == ()
    assert kinds(raw) == ["relative"]


@pytest.mark.parametrize("raw", ["Wife of Ahmed Al-Dada", "زوجة أحمد الدادا", "زوجة أحمد",
                                 "Mother of Ahmed"])
def test_wife_or_mother_of_places_nothing(raw):
    v = parse_victim_name(raw)
    assert v.placed == (None, None, None, None)
    assert kinds(raw) == ["relative"]


@pytest.mark.parametrize(
    ("raw", "given", "family", "kunya"),
    [
        ("Hamdan Al-Najjar `Abu Zaki`", "hamdan", "al-najjar", "abuzaki"),
        ("حمدان النجار ابو زكي", "حمدان", "النجار", "ابوزكي"),
        ("Zahira Al-Najjar Umm Zaki", "zahira", "al-najjar", "ummzaki"),
        ("زهرة النجار أم زكي", "زهره", "النجار", "امزكي"),
        ("Farouk Anan (Abu Yasser)", "farouk", "anan", "abuyasser"),
        ("ابو ياسر عنان", None, "عنان", "ابوياسر"),
    ],
)
def test_kunya_is_not_the_given_name(raw, given, family, kunya):
    v = parse_victim_name(raw)
    assert (v.given, v.family) == (given, family)
    assert ("kunya", kunya) in v.unplaced


def test_abu_family_names_are_kept():
    # Abu Shamala, Abu Bakr: names, not kunyas.
    assert parse_victim_name("شام أبو شمالة").family == "ابوشماله"
    assert parse_victim_name("Sham Abu Shamala").family == "abushamala"
    assert parse_victim_name("Abu Bakr Saleh Hassan").given == "abubakr"
    assert parse_victim_name("ابو بكر صالح حسن").given == "ابوبكر"


@pytest.mark.parametrize(
    ("raw", "family", "alternative"),
    [
        ("Islam Halasa (Mushtaha)", "halasa", "mushtaha"),
        ("اسلام حلاسة (مشتهى)", "حلاسه", "مشتهي"),
        ("Taqi Khaled Abu al-Ela.. al-Raqab", "abualela", "al-raqab"),
    ],
)
def test_alternatives_in_parentheses_or_after_dots(raw, family, alternative):
    v = parse_victim_name(raw)
    assert v.family == family
    assert ("alternative", alternative) in v.unplaced


@pytest.mark.parametrize(
    ("raw", "family", "nickname"),
    [
        ("Mohammed Salem `Al-Sagheer`", "salem", "al-sagheer"),
        ("محمد سالم `الصغير`", "سالم", "الصغير"),
        ('Mohammed "Al-Sagheer" Salem', "salem", "al-sagheer"),
        ("محمد «الصغير» سالم", "سالم", "الصغير"),
    ],
)
def test_nicknames_after_backtick_or_in_quotes(raw, family, nickname):
    v = parse_victim_name(raw)
    assert v.family == family
    assert ("nickname", nickname) in v.unplaced


def test_apostrophe_is_an_ayn_not_a_nickname():
    assert parse_victim_name("As'ad Abu 'Anzah").placed == ("asad", None, None, "abuanzah")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Mohammed", "Muhammad"), ("Mohamed", "محمد"), ("Abu Shamala", "Abou Shamala"),
     ("Abu Shamala", "أبو شمالة"), ("Youssef", "يوسف"), ("Abdel Rahman", "عبد الرحمن")],
)
def test_transliteration_variants_share_a_key(a, b):
    ka = skeleton("".join(parse_victim_name(a).parts))
    kb = skeleton("".join(parse_victim_name(b).parts))
    assert ka == kb


def test_standardised_record_says_what_was_placed():
    frame = pd.DataFrame({
        "id": ["1", "2", "3"],
        "ar": ["الحج حمدان النجار ابو زكي", "زوجة أحمد", "محمد"],
        "en": ["Hajj Hamdan Al-Najjar `Abu Zaki`", "Islam Halasa (Mushtaha)",
               "Mohammed Ali al-Hassi"],
    })
    out = standardise(frame, {"name_ar": "ar", "name_lat": "en"}, list_name="aw",
                      id_column="id")
    assert out.loc[0, "given"] == "حمدان" and out.loc[0, "family"] == "النجار"
    assert out.loc[0, "name_unplaced"].split(" ") == [
        "title:الحج", "kunya:ابوزكي", "title:hajj", "kunya:abuzaki"]
    # A descriptor in Arabic and the name in Latin: the Latin parts are used.
    assert (out.loc[1, "given"], out.loc[1, "family"]) == ("islam", "halasa")
    assert "relative:زوجه:احمد" in out.loc[1, "name_unplaced"]
    # One Arabic word against three Latin parts: the Latin parts.
    assert out.loc[2, "father"] == "ali"
    # The order-insensitive token set of skeletons (article dropped).
    assert out.loc[0, "name_tokens"] == " ".join(sorted({skeleton("حمدان"), "NJR"}))


@pytest.mark.parametrize(
    ("raw", "given"),
    [("الطبيبة أية فراونة", "ايه"), ("الطبيب مدحت محمود صيدم", "مدحت"),
     ("الام امنه شعبان ابراهيم الدحدوح", "امنه"), ("Dr Medhat Mahmoud Saidam", "medhat")],
)
def test_professions_and_family_roles_before_the_name(raw, given):
    assert parse_victim_name(raw).given == given


@pytest.mark.parametrize(
    ("raw", "placed"),
    [
        # A four-part registry name whose family name is "Abu X" after a compound or an
        # Al- grandfather: not a kunya.
        ("صهيب ابراهيم عبد الله ابو سليمه", ("صهيب", "ابراهيم", "عبدالله", "ابوسليمه")),
        ("امل فراس احمد الشيخ ابوجزر", ("امل", "فراس", "احمد", "ابوجزر")),
        # Al-Sayyid is a given name in the registry.
        ("السيد نواف عبدالفتاح مسعود", ("السيد", "نواف", "عبدالفتاح", "مسعود")),
        # The registry's unnamed infants: son of Khalid (son of Hussein) Karajeh.
        ("ابن خالد حسين كراجه", (None, "خالد", "حسين", "كراجه")),
    ],
)
def test_registry_names_are_not_taken_for_kunyas_or_titles(raw, placed):
    assert parse_victim_name(raw).placed == placed


@pytest.mark.parametrize("raw, placed", [
    # A PDF extraction splits a word after a final-form glyph; the lone letter shifted
    # every later part (the father became "ن").
    ("حسي ن ماهر حسي ن شملخ", ("حسين", "ماهر", "حسين", "شملخ")),
    ("ياسمي ن طلال حسي ن البشليفي ي", ("ياسمين", "طلال", "حسين", "البشليفيي")),
    ("ا يه عطاالله موسي العجيلي", ("ايه", "عطاالله", "موسي", "العجيلي")),
    # A name of more than four parts: a two-letter piece joins the part before it (the
    # next one at the start); two-letter names (Taha) and the article are not pieces.
    ("ري هام عمران صالح الدلو", ("ريهام", "عمران", "صالح", "الدلو")),
    ("مجد سري يف مصطفن ابونصار", ("مجد", "سرييف", "مصطفن", "ابونصار")),
    ("في وز سليمان احمد الطلاع", ("فيوز", "سليمان", "احمد", "الطلاع")),
    ("عبد الله محمد احمد ال نجار", ("عبدالله", "محمد", "احمد", "النجار")),
    ("محمد طه احمد علي حسن", ("محمد", "طه", "احمد", "حسن")),
    # Four parts or fewer are left as written.
    ("ري هام محمد", ("ري", "هام", None, "محمد")),
    # The conjunction is not a letter of a name.
    ("محمد و احمد", ("محمد", "و", None, "احمد")),
    # Latin initials stay parts.
    ("John A Smith", ("john", "a", None, "smith")),
])
def test_split_arabic_words_are_joined_again(raw, placed):
    assert parse_victim_name(raw).placed == placed
