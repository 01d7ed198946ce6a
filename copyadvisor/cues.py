"""Signal words that describe a business relationship, per term and language.

The articles' criteria, turned into cues: one-off, price- and convenience-driven
purchases -> customer; ongoing, personalised, professional relationships built on trust
-> client; paid recurring content -> subscriber; community -> member; interaction with
software -> user; purchasing for a business -> buyer; the person who uses a product ->
consumer; browsing options -> shopper; social media -> follower.

Each entry is (regex, weight). Patterns are matched case-insensitively on the question
(and, with half the weight, on the recent turns of the conversation).
"""

from __future__ import annotations

import re
from functools import lru_cache

TERMS = ("client", "customer", "subscriber", "member", "user", "buyer", "consumer", "shopper", "follower")

_CUES: dict[str, list[tuple[str, float]]] = {
    "client": [
        # en
        (r"long[- ]term|ongoing|retainer|relationship|personali[sz]ed|bespoke|tailor(?:ed|-made)|custom(?:ised|ized)? (?:solution|service|plan)", 1.0),
        (r"consult|agency|law ?firm|lawyer|attorney|legal|solicitor|accountan|accounting|bookkeep|tax advi|financial (?:advi|plann)|wealth manag|architect", 1.0),
        (r"for (?:many |several )?(?:years|months)|stay with us|come back to us|over (?:several |many )?months|retainers?", 0.7),
        (r"coach|therap|counsel|photo(?:graphy)? (?:session|shoot)|wedding photograph|interior design|professional services?", 1.0),
        (r"account manager|dedicated (?:support|team|manager)|enterprise|\bB2B\b|trust|expertise|reputation|projects?\b|contract|loyal", 0.7),
        # fr
        (r"long terme|durable|relation|personnalis|sur[- ]mesure|conseil|agence|cabinet|avocat|juridique|notaire|comptab|expert|architecte|thérap|séance photo|services? professionnels?", 1.0),
        (r"gestionnaire de compte|entreprises?\b|confiance|projet|contrat|fidèle|fidélité|suivi", 0.7),
        # pl
        (r"długoterminow|stał(?:a|e|ej|ą|y) (?:współprac|obsług|relacj)|relacj|spersonalizowan|indywidualn|dostosowan|doradz|konsult|agencj|kancelari|prawni|adwokat|radc|księgow|architekt|terap|sesj[aię] zdjęciow|usług(?:i)? profesjonaln", 1.0),
        (r"opiekun|menedżer(?:a|ów)? kont|zaufani|projekt|umow|lojaln", 0.7),
        # ja
        (r"長期|継続|関係|パーソナライズ|個別|オーダーメイド|コンサル|代理店|エージェンシー|法律事務所|弁護士|会計|税理士|建築|コーチ|セラピ|カウンセリング|撮影|専門サービス|士業", 1.0),
        (r"アカウントマネージャー|担当者|エンタープライズ|信頼|専門知識|プロジェクト|契約|顧問", 0.7),
        # id
        (r"jangka panjang|berkelanjutan|hubungan|dipersonalisasi|personal|disesuaikan|konsultan|konsultasi|agensi|agency|firma hukum|pengacara|notaris|akuntan|arsitek|terapi|sesi foto|layanan profesional", 1.0),
        (r"manajer akun|kepercayaan|keahlian|proyek|kontrak|setia|perusahaan besar", 0.7),
        # ar
        (r"طويلة الأمد|طويل الأمد|مستمر|علاق|شخصي|مخصص|استشار|وكالة|محاماة|محام|قانوني|محاسب|معماري|مدرب|علاج|جلسة تصوير|خدمات مهنية", 1.0),
        (r"مدير حساب|ثقة|خبرة|مشروع|عقد|ولاء|مخلص", 0.7),
        # de
        (r"langfristig|dauerhaft|beziehung|persönlich|individuell|maßgeschneidert|beratung|berater|agentur|kanzlei|anwalt|rechts|steuerberat|buchhalt|architekt|therap|fotoshooting|dienstleist", 1.0),
        (r"vertrauen|projekt|vertrag|treue", 0.7),
        # es / it / pt
        (r"largo plazo|relaci[oó]n|personaliz|a medida|consultor|asesor|agencia|bufete|abogad|jur[ií]dic|contable|contabilidad|arquitect|terapia|sesi[oó]n de fotos|servicios profesionales", 1.0),
        (r"confianza|proyecto|contrato|leal", 0.7),
    ],
    "customer": [
        (r"one[- ]off|one[- ]time|single purchase|once\b|transaction|retail|\bshop\b|store|supermarket|grocer|e-?commerce|online shop|checkout|restaurant|caf[eé]\b|coffee|fast[- ]food|food chain|bakery", 1.0),
        (r"price|cheap|discount|deal|bargain|convenien|off[- ]the[- ]shelf|standard product|self[- ]serv|impulse|walk[- ]in|ticket|mass[- ]market", 1.0),
        (r"\bB2C\b|\bSaaS\b|streaming|delivery", 0.5),
        (r"ponctuel|une seule fois|une fois|transaction|commerce de détail|magasin|(?:une|la|ma|notre|votre) boutique|boutique en ligne|supermarché|épicerie|e-commerce|boutique en ligne|panier|restaurant|restauration rapide|boulangerie", 1.0),
        (r"prix|pas cher|promo|réduction|soldes|commodité|pratique|standard|libre-service|impulsi|billet", 1.0),
        (r"jednorazow|pojedyncz|transakc|detaliczn|sklep|supermarket|spożywcz|e-commerce|internetow|koszyk|restauracj|kawiarni|piekarni|fast food", 1.0),
        (r"\bcen[aąęy]\b|\bcen\b|tani|tanio|promocj|rabat|wygod|standardow|samoobsług|impuls|bilet", 1.0),
        (r"一回|1回|一度|単発|取引|小売|店舗|お店|スーパー|食料品|通販|ネットショップ|ECサイト|カート|レストラン|カフェ|ファストフード|パン屋", 1.0),
        (r"価格|値段|安い|割引|セール|便利|既製|セルフ|衝動買い|チケット", 1.0),
        (r"sekali beli|satu kali|sekali|transaksi|ritel|eceran|toko|supermarket|kelontong|e-commerce|toko online|keranjang|restoran|kafe|makanan cepat saji|warung|roti", 1.0),
        (r"harga|murah|diskon|promo|kenyamanan|praktis|standar|swalayan|impulsif|tiket", 1.0),
        (r"مرة واحدة|لمرة|صفقة|تجزئة|متجر|محل|سوبر ماركت|بقالة|تجارة إلكترونية|عبر الإنترنت|سلة|مطعم|مقهى|وجبات سريعة|مخبز", 1.0),
        (r"سعر|أسعار|رخيص|خصم|تخفيض|تخفيضات|راحة|ملائم|قياسي|خدمة ذاتية|تذكرة|تذاكر", 1.0),
        (r"einmalig|einmal\b|transaktion|einzelhandel|laden|geschäft\b|supermarkt|lebensmittel|online-shop|e-commerce|warenkorb|restaurant|imbiss|bäckerei", 1.0),
        (r"preis|günstig|billig|rabatt|bequem|standard|selbstbedienung|impuls|ticket", 1.0),
        (r"una sola vez|una vez|puntual|transacci|minorista|tienda|supermercado|comestibles|comercio electr[oó]nico|en l[ií]nea|carrito|restaurante|cafeter[ií]a|comida r[aá]pida|panader[ií]a", 1.0),
        (r"precio|barato|descuento|oferta|comodidad|convenien|est[aá]ndar|autoservicio|impulso", 1.0),
    ],
    "subscriber": [
        (r"paywall|newsletter|magazine|premium (?:articles?|content)|paid content|digital edition|podcast|subscribe to (?:our|my) (?:content|articles|newsletter)", 1.5),
        (r"subscri", 0.5),
        (r"paywall|newsletter|lettre d'information|magazine|contenu (?:payant|premium)|articles? premium", 1.5),
        (r"abonnement|abonné", 0.5),
        (r"paywall|newsletter|biuletyn|prenumerat|płatn(?:e|ych|a) treś|czasopism|magazyn", 1.5),
        (r"subskrypc|abonament|abonent", 0.5),
        (r"有料記事|有料コンテンツ|ニュースレター|メルマガ|ペイウォール|定期購読|雑誌", 1.5),
        (r"購読|サブスク", 0.5),
        (r"paywall|newsletter|buletin|konten berbayar|artikel premium|majalah", 1.5),
        (r"berlangganan|langganan", 0.5),
        (r"النشرة الإخبارية|نشرة|محتوى مدفوع|جدار الدفع|مجلة|مقالات مدفوعة", 1.5),
        (r"اشتراك|مشترك", 0.5),
        (r"bezahlschranke|paywall|newsletter|bezahlinhalt|zeitschrift|magazin", 1.5),
        (r"abonn", 0.5),
        (r"muro de pago|paywall|bolet[ií]n|newsletter|contenido de pago|revista", 1.5),
        (r"suscri", 0.5),
    ],
    "member": [
        (r"\bmembers?\b|membership|community|club\b|association|\bunion\b|gym|co-?op|alumni", 1.5),
        (r"membres?\b|adhésion|adhérent|communauté|club\b|association|salle de sport", 1.5),
        (r"członk|członkostw|społeczno|klub|stowarzysz|siłowni", 1.5),
        (r"会員|メンバー|コミュニティ|クラブ|協会|ジム", 1.5),
        (r"anggota|keanggotaan|komunitas|klub|asosiasi|pusat kebugaran|\bgym\b", 1.5),
        (r"عضو|عضوية|أعضاء|مجتمع|نادي|نادٍ|جمعية|صالة رياضية", 1.5),
        (r"mitglied|gemeinschaft|verein|fitnessstudio", 1.5),
        (r"miembro|membres[ií]a|\bsocios?\b|comunidad|asociaci[oó]n|gimnasio", 1.5),
    ],
    "user": [
        (r"\busers?\b|\bapp\b|\bapps\b|mobile app|free tier|freemium|sign[- ]?ups?|log[- ]?ins?|onboarding|interface|dashboard", 1.5),
        (r"software|platform", 0.5),
        (r"utilisateur|application mobile|appli\b|version gratuite|inscription", 1.5),
        (r"użytkownik|aplikacj|darmow(?:a|y) (?:wersj|plan)|rejestracj", 1.5),
        (r"ユーザー|利用者|アプリ|無料プラン|登録", 1.5),
        (r"pengguna|aplikasi|versi gratis|pendaftaran", 1.5),
        (r"مستخدم|تطبيق|النسخة المجانية|تسجيل", 1.5),
        (r"nutzer|benutzer|\bapp\b|kostenlos|registrier", 1.5),
        (r"usuario|aplicaci[oó]n|\bapp\b|versi[oó]n gratuita|registro", 1.5),
    ],
    "buyer": [
        (r"\bbuyers?\b|procurement|purchasing (?:department|manager|team)|wholesale|distributor|reseller|manufactur", 1.5),
        (r"acheteurs?\b|service des achats|grossiste|distributeur|revendeur|fabricant", 1.5),
        (r"kupując(?:y|ych|ym)|nabywc|zaopatrzeni|dział zakupów|hurtow|dystrybutor|producent", 1.5),
        (r"バイヤー|購入者|仕入れ|調達|購買部|卸売|メーカー", 1.5),
        (r"\bpembeli\b|pengadaan|bagian pembelian|grosir|distributor|produsen", 1.5),
        (r"مشتري|مشترين|المشترين|قسم المشتريات|الجملة|موزع|مصنع", 1.5),
        (r"käufer|einkauf|großhandel|händler|hersteller", 1.5),
        (r"comprador|departamento de compras|mayorista|distribuidor|fabricante", 1.5),
    ],
    "consumer": [
        (r"consumers?\b|end[- ]users?|household|the person who (?:actually )?uses", 1.5),
        (r"consommateur|utilisateur final", 1.5),
        (r"konsument|użytkownik(?:a|iem)? końcow", 1.5),
        (r"消費者|エンドユーザー", 1.5),
        (r"konsumen|pengguna akhir", 1.5),
        (r"مستهلك|المستخدم النهائي", 1.5),
        (r"verbraucher|konsument|endnutzer", 1.5),
        (r"consumidor|usuario final", 1.5),
    ],
    "shopper": [
        (r"shoppers?\b|browsing|browse|window[- ]shopping|compare (?:several )?options|comparison shopping", 1.5),
        (r"lèche-vitrine|comparer (?:les|plusieurs) options|qui flânent", 1.5),
        (r"przegląda(?:ją|jący)|porównuj", 1.5),
        (r"買い物客|見て回る|比較検討", 1.5),
        (r"pembelanja|melihat-lihat|membandingkan", 1.5),
        (r"متسوق|يتصفح|تصفح|مقارنة الخيارات", 1.5),
        (r"stöbern|vergleichen", 1.5),
        (r"curiosear|comparar opciones", 1.5),
    ],
    "follower": [
        (r"followers?|social media|instagram|tiktok|youtube|twitter|linkedin", 1.5),
        (r"réseaux sociaux|followers?", 1.5),
        (r"obserwując|media społecznościow|obserwator", 1.5),
        (r"フォロワー|SNS|インスタ", 1.5),
        (r"pengikut|media sosial", 1.5),
        (r"متابع|وسائل التواصل", 1.5),
        (r"soziale medien|follower", 1.5),
        (r"seguidor|redes sociales", 1.5),
    ],
}

# Requests that are not about audience wording, whatever words they contain.
OUT_OF_SCOPE = re.compile(
    r"\bpoems?\b|\bsongs?\b|\bjokes?\b|\blimerick|\brecipe|\bweather\b|\bcapital (?:city )?of\b|\bhaiku\b"
    r"|\b(?:write|generate|create|make|give)\s+(?:me\s+|us\s+)?(?:a\s+|an\s+|some\s+|the\s+)?(?:\w+\s+){0,2}(?:scripts?|code|functions?|scrapers?|programs?|macros?|sql|regex)\b"
    r"|poème|chanson|blague|recette|météo|capitale de"
    r"|wiersz|piosenk|żart|przepis|pogod|stolic"
    r"|詩を|俳句|ジョーク|レシピ|天気|首都"
    r"|puisi|lagu|lelucon|resep|cuaca|ibu kota"
    r"|قصيدة|أغنية|نكتة|وصفة|الطقس|عاصمة"
    r"|gedicht|\blied\b|\bwitz\b|rezept|wetter|hauptstadt"
    r"|poema|canci[oó]n|chiste|receta|\bclima\b|capital de",
    re.IGNORECASE,
)

# Attempts to change the assistant's rules from inside a question or a draft.
INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier|your) (?:instructions|rules|prompts?|directions)"
    r"|disregard (?:all |any |the )?(?:previous|prior|above|your)? ?(?:instructions|rules)"
    r"|system prompt|you are now|pretend (?:to be|you are)|jailbreak|developer mode|reveal your (?:prompt|instructions)"
    r"|ignore[rz]? (?:les |toutes les |tes )?(?:instructions|consignes)|oublie[rz]? (?:les |tes )?(?:instructions|consignes)"
    r"|(?:z)?ignoruj (?:poprzednie |wszystkie )?instrukcje|zapomnij (?:o )?instrukcj"
    r"|指示を無視|以前の指示|システムプロンプト"
    r"|abaikan (?:semua )?(?:instruksi|perintah)"
    r"|تجاهل (?:جميع |كل )?(?:التعليمات|الأوامر)"
    r"|ignoriere (?:alle |die )?(?:vorherigen )?anweisungen"
    r"|ignora (?:todas las |las )?instrucciones",
    re.IGNORECASE,
)

# Audience words: a question that names one is about what to call people (any corpus language).
AUDIENCE = re.compile(
    r"client|customer|klient|klien|pelanggan|cliente|kunde|顧客|クライアント|お客|عميل|عملاء|زبون|زبائن"
    r"|subscri|abonn|abonent|member|membre|członk|anggota|会員|عضو|\buser|utilisat|użytkownik|pengguna|ユーザー|مستخدم"
    r"|buyer|acheteur|kupując|nabywc|pembeli|購入者|مشتري|consumer|consommateur|konsument|konsumen|消費者|مستهلك"
    r"|shopper|follower|フォロワー|pengikut|متابع|audience",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def compiled_cues() -> dict[str, list[tuple[re.Pattern, float]]]:
    return {term: [(re.compile(p, re.IGNORECASE), w) for p, w in entries] for term, entries in _CUES.items()}


def score_terms(text: str, weight: float = 1.0) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Cue scores per term for ``text`` and the matched phrases (for the rationale).

    Overlapping matches count once per term ("personalised" is not also "personal").
    """
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for term, patterns in compiled_cues().items():
        taken: list[tuple[int, int]] = []
        for pattern, cue_weight in patterns:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < other_end and other_start < end for other_start, other_end in taken):
                    continue
                taken.append((start, end))
                scores[term] = scores.get(term, 0.0) + cue_weight * weight
                matched.setdefault(term, []).append(match.group(0).strip())
    return scores, matched
