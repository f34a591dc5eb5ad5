"""The hand-written material bpe_harness.data.corpus composes its documents from, all written for this kit: common
English words in order of frequency rank (one list per style), names, speech verbs, story openers and closers,
everyday sentences in nine other languages, emoji, code snippets, months and top-level domains.

Changing any of it changes every generated corpus: bump GENERATOR_VERSION (corpus/state.py) and rebuild the fixtures.
"""

from __future__ import annotations

import regex

TINY_HEAD = """
the and a to was she he it her said they his in with you I of that had on day
so big happy very one play wanted time but not saw went little mom we is were
what all at there friend friends can do go them him be for up upon once named
looked see like have are help did toy when then out too away fun this my ball
dog cat tree park sad found new home loved make made together could would no
yes me your their from about don't I'm it's can't didn't let's you're red blue
green small tall bird girl boy ran jump jumped smiled laughed came felt know
thank again something thing things nice good bad scared sun sky water run eat
ate food cake box car house room bed sleep night morning other an some many more
fish garden flower flowers kind brave always never asked replied shouted
whispered cried hug hugged share shared learned lesson important careful special
best I'll we're that's she's he's won't they're I've mommy daddy dad teacher
school book story pretty beautiful bright dark forest river sea boat bear bunny
rabbit duck frog mouse lion puppy kitten baby sister brother family grandma
grandpa opened closed door window inside outside around down under over into
through after before because while every each everyone everything someone
nothing who how why where here now soon later first last next just only still
even also really much lots lot fast slow loud quiet hot cold warm wet dry hungry
tired excited surprised angry proud shiny soft hard long short old young two
three four five ten hundred we'll she'll he'll you'll they'll I'd he'd she'd
we'd you'd they'd we've you've they've isn't wasn't aren't doesn't couldn't
wouldn't haven't there's what's apple apples cookie cookies milk juice sand
snow rain wind cloud clouds star stars moon hill rock stick leaf leaves grass
game games song sing sang dance danced draw drew paint picture music dream magic
wish secret gift present party birthday walk walked climb climbed fly flew swim
swam build built fix fixed find look think thought feel tell told give gave
take took get got put let try tried keep kept hold held bring brought come stop
stopped start started listen listened love care cared hope idea way place world
playing looking running jumping smiling walking laughing singing eating toys
balls trees birds dogs cats friends' mom's dad's lady man woman king queen
castle princess dragon monster robot truck train plane shoe shoes hat coat
dress bag basket cup plate spoon table chair floor wall kitchen yard street town
shop store market lunch dinner breakfast bread soup candy ice cream pie jar
bucket shell shells wave waves beach butterfly bee bees ant ants worm spider
""".split()

WEB_HEAD = """
the of and to a in is that for it on with as was be by this are at from have
an I not or but he they his has will you which more their we can about its been
had one who were said also new would all people year years if there time than
up out so what some other first when into most after over our like only just
two many because may could these them it's don't can't I'm that's doesn't isn't
won't didn't we're they're you're I've we've there's I'd he'd it'll you'll
we'll they'll wouldn't shouldn't couldn't hasn't haven't aren't wasn't weren't
let's who's what's company's country's world's city's such then any those how
where make made well way even back last state government public work use used
data report percent million billion between both through while during since
under against however still before being each should very much three four five
part number group system company market business health school family life
world country city police law court case president official officials members
local national international support information service services research
program project team season game games player players win won said told says
according added month week day days today later early long high low large small
great good best better big own same different important possible available
free full real open short hard recent former major likely need needs want want
wanted know think see get got take took give gave find found show shows shown
help called including around among within without until across along often
never always already again every another few several less least money cost
price prices tax plan plans policy decision change changes issue issues problem
problems question questions result results level levels rate rates area areas
power energy water food home house room building site page post news media
story video photo online internet website email users user social network
software app code version release update technology science study studies
university students student children parents women men woman man person
American British European Chinese English Monday Tuesday Wednesday Thursday
Friday Saturday Sunday January February March April May June July August
September October November December President Senate Congress Court Department
Minister Street River North South East West New City University Council
""".split()

NAMES = """
Lily Tom Ben Sue Max Mia Sam Anna Tim Lucy Jack Zoe Leo Ella Kim Bob Rosa Finn
Nina Omar Ravi Yuki Amir Greta Pablo Ivy Hugo Maya Noah Chloe Theo Ruby Jake
Luna Oscar Daisy Felix Hana Milo Sara
""".split()

SPEECH_VERBS = {
    ".": ("said", "replied", "whispered", "added", "told him", "told her"),
    "!": ("shouted", "cried", "yelled", "laughed", "said"),
    "?": ("asked", "wondered", "said"),
}

TINY_ADJ = "little happy small brave kind shy curious silly tiny friendly old fluffy".split()
TINY_NOUN = "girl boy dog cat bunny bird frog bear puppy duck mouse robot dragon".split()
TINY_PLACE = "park garden forest town house village meadow yard field".split()
TINY_VERB = "play run sing dance draw read jump swim explore build".split()

TINY_OPENERS = (
    "Once upon a time, there was a {adj} {noun} named {A}.",
    "Once upon a time, in a {adj} {place}, there lived a {noun} named {A}.",
    "One day, {A} went to the {place} with {B}.",
    "{A} was a {adj} {noun} who loved to {verb}.",
    "There was once a {adj} {noun} called {A}.",
    "It was a sunny day and {A} wanted to {verb}.",
    "{A} and {B} were best friends.",
    "Every morning, {A} liked to {verb} in the {place}.",
    "{A} had a {adj} {noun}. Its name was {B}.",
)
TINY_CLOSERS = (
    "The end.",
    "From that day on, {A} and {B} were always friends.",
    "{A} learned that it's important to share.",
    "{A} smiled and went to sleep.",
    "And {A} was never sad again.",
    '{A} said, "Thank you, {B}!" and they played all day.',
    "They were all very happy.",
    "{B} gave {A} a big hug.",
)

OPENER_WORDS = tuple(regex.sub(r"\{\w+\}", " ", t) for t in TINY_OPENERS)
OPENER_SLOTS = tuple(
    tuple(k in t for k in ("{A}", "{B}", "{adj}", "{noun}", "{place}", "{verb}")) for t in TINY_OPENERS
)
CLOSER_WORDS = tuple(regex.sub(r"\{\w+\}", " ", t) for t in TINY_CLOSERS)

# Foreign-language sentences, written for this module (short everyday statements).
FOREIGN = {
    "zh": (
        "小猫在花园里找到了一个红色的球。",
        "今天下午我们一起去河边散步吧！",
        "这本书很有意思，我已经读了三遍。",
        "老师说明天要下雨，记得带伞。",
        "他把新做的蛋糕分给了所有的朋友。",
    ),
    "ja": (
        "きのうは友だちと公園でサッカーをしました。",
        "この駅から海まで歩いて十五分ぐらいです。",
        "ねこが窓の近くで気持ちよさそうに寝ています。",
        "新しいパン屋さんのメロンパンはとてもおいしい！",
        "明日の会議は午後三時からに変更になりました。",
    ),
    "ko": (
        "우리 강아지는 아침마다 공원에서 뛰어놀아요.",
        "오늘 저녁에는 엄마와 함께 김밥을 만들 거예요.",
        "그 책은 도서관 이층에 있습니다.",
        "비가 그치면 자전거를 타러 나가자!",
    ),
    "ar": (
        "ذهب الولد الصغير إلى السوق مع جدته.",
        "الشمس مشرقة اليوم والسماء صافية.",
        "أحب أن أقرأ القصص قبل النوم.",
        "وصل القطار في الساعة 7:45 صباحا.",
    ),
    "he": (
        "הילדה ציירה בית כחול עם גג אדום.",
        "אנחנו נפגשים בשעה 10 ליד הספרייה.",
        "הכלב שלי אוהב לשחק בחול.",
        "מחר נלך לים אם לא ירד גשם.",
    ),
    "ru": (
        "Маленький ёжик нашёл в лесу большое яблоко.",
        "Завтра мы поедем к бабушке на поезде.",
        "Эта задача оказалась проще, чем я думал.",
        "В нашем городе открыли новый парк.",
    ),
    "el": (
        "Το μικρό σκυλί τρέχει στην αυλή.",
        "Αύριο θα πάμε στη θάλασσα με τους φίλους μας.",
        "Η γάτα κοιμάται πάνω στον καναπέ.",
        "Πόσο κοστίζει αυτό το βιβλίο;",
    ),
    "hi": (
        "छोटी बिल्ली बगीचे में खेल रही है।",
        "कल हम सब मिलकर पिकनिक पर जाएँगे।",
        "मेरी दादी बहुत अच्छी कहानियाँ सुनाती हैं।",
        "यह किताब मेज़ पर रखी है।",
    ),
    "vi": (
        "Hôm nay trời rất đẹp, chúng tôi đi dạo ở công viên.",
        "Con mèo nhỏ đang ngủ trên ghế.",
        "Mẹ tôi nấu phở ngon nhất thế giới.",
        "Ngày mai tôi sẽ học tiếng Việt.",
    ),
}
FOREIGN_LANGS = tuple(FOREIGN)  # insertion order is fixed by the literal above

EMOJI = (
    "😀",
    "😂",
    "🥰",
    "🐶",
    "🐱",
    "🌈",
    "⭐",
    "🎉",
    "🍕",
    "🚀",
    "❤️",
    "☀️",
    "👍",
    "👍🏽",
    "👋🏿",
    "✌🏻",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "👩‍👩‍👦",
    "🧑🏾‍🚀",
    "🤷‍♀️",
    "🏳️‍🌈",
    "🇯🇵",
    "🇫🇷",
    "🇧🇷",
    "🇰🇪",
    "1️⃣",
    "#️⃣",
    "🔟",
)

CODE_SNIPPETS = (
    "def {a}_{b}({c}, {d}=None):\n    if {d} is None:\n        {d} = []\n"
    "    for item in {c}:\n        {d}.append(item * {n})\n    return {d}\n",
    "for (let i = 0; i < {n}; i++) {{\n\tconst {a} = {b}[i];\n\tif ({a} > {m}) {{\n"
    '\t\tconsole.log("{c}", {a});\n\t}}\n}}\n',
    '$ grep -rn "{a}" ./{b} | sort | uniq -c | head -{n}\n',
    '{{\n  "{a}": {n},\n  "{b}": "{c}",\n  "{d}": [{m}, {n}, true, null]\n}}\n',
    "class {A}{B}:\n    def __init__(self, {c}):\n        self.{c} = {c}\n\n"
    '    def __repr__(self):\n        return f"{A}{B}({{self.{c}!r}})"\n',
    'if [ -f "{a}.txt" ]; then\n\techo "found {a}"\nelse\n\tmkdir -p {b}/{c} && cd {b}\nfi\n',
    "SELECT {a}, COUNT(*) AS {b}\nFROM {c}\nWHERE {d} > {n}\nGROUP BY {a};\n",
    "    x_{a} = np.zeros(({n}, {m}))\n\ty_{b} = x_{a}.sum(axis=0)  # mixed tab/space indent\n",
)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
TLDS = ("com", "org", "net", "io", "co.uk", "edu", "gov", "info")
