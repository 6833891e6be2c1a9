"""What the front desk reads: plain Indonesian, saying what to do next."""

from __future__ import annotations

from datetime import datetime, tzinfo

from service.decision import Outcome, Reason

REASON_MESSAGES: dict[Reason, str] = {
    Reason.DECEASED: (
        "Menurut data kependudukan, pemilik NIK ini tercatat telah meninggal dunia. "
        "Periksa kembali NIK pada KTP; bila data keliru, minta pasien melapor ke Disdukcapil."
    ),
    Reason.JKN_ACTIVE: (
        "Pasien terdaftar sebagai peserta JKN (BPJS Kesehatan) yang aktif. "
        "Layani dengan penjaminan BPJS Kesehatan, bukan Jamkesda."
    ),
    Reason.NIK_NOT_FOUND: (
        "NIK tidak ditemukan dalam data kependudukan Kutai Kartanegara. "
        "Periksa kembali angka NIK pada KTP; bila sudah benar, "
        "minta pasien menghubungi Disdukcapil."
    ),
    Reason.NOT_RESIDENT: (
        "Menurut data kependudukan, pasien tidak berdomisili di Kutai Kartanegara "
        "(pindah atau beralamat di luar kabupaten). Layanan gratis dengan KTP hanya untuk "
        "penduduk Kukar; tawarkan penjaminan lain atau layanan umum."
    ),
    Reason.RESIDENCY_TOO_SHORT: (
        "Pasien berdomisili di Kutai Kartanegara, tetapi belum cukup lama untuk layanan "
        "gratis Jamkesda. Tawarkan penjaminan lain atau layanan umum."
    ),
    Reason.JAMKESDA_NOT_ENROLLED: (
        "Pasien belum terdaftar sebagai peserta Jamkesda. Arahkan pasien mendaftar ke "
        "Dinas Kesehatan atau petugas Jamkesda di fasilitas ini."
    ),
    Reason.JAMKESDA_INACTIVE: (
        "Kepesertaan Jamkesda pasien tidak aktif pada tanggal layanan. Arahkan pasien ke "
        "Dinas Kesehatan untuk mengaktifkan kembali kepesertaannya."
    ),
    Reason.DATA_UNAVAILABLE: (
        "Data untuk memastikan kepesertaan belum tersedia, jadi belum ada keputusan. "
        "Ini bukan penolakan: layani pasien sesuai prosedur sementara dan ulangi "
        "pemeriksaan nanti atau hubungi Dinas Kesehatan."
    ),
}

# The headline of each decision, before its reasons (the FHIR answer's disposition).
DECISION_MESSAGES: dict[Outcome, str] = {
    Outcome.ELIGIBLE: "Pasien berhak atas layanan gratis Jamkesda Kabupaten Kutai Kartanegara.",
    Outcome.COVERED_BY_JKN: "Pasien dijamin JKN (BPJS Kesehatan), bukan Jamkesda.",
    Outcome.NOT_ELIGIBLE: "Pasien tidak memenuhi syarat layanan gratis Jamkesda.",
    Outcome.UNDETERMINED: "Kepesertaan belum dapat dipastikan. Ini bukan penolakan.",
}

EMERGENCY_NOTICE = (
    "Pasien gawat darurat wajib segera ditolong tanpa menunggu kepastian pembiayaan dan "
    "tanpa uang muka (UU No. 17 Tahun 2023 tentang Kesehatan)."
)


def dispute_message(reference: str) -> str:
    """How a patient objects to a decision, citing its reference."""
    return (
        f"Bila pasien tidak setuju dengan hasil ini, catat nomor referensi {reference} dan "
        "ajukan keberatan ke Dinas Kesehatan Kabupaten Kutai Kartanegara atau ke Ombudsman RI "
        "Perwakilan Kalimantan Timur dengan menyebutkan nomor tersebut."
    )


def earlier_key_text(rotated_at: datetime, zone: tzinfo) -> str:
    """Why a record made before the last change of NIK_HASH_KEY cannot be replayed."""
    when = rotated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return (
        f"Catatan ini dibuat sebelum NIK_HASH_KEY diganti ({when} WITA). Hash NIK-nya dibuat "
        "dengan kunci lama, sehingga orangnya tidak dapat dicari lagi dalam data yang sudah "
        "di-hash ulang, dan keputusan tidak dapat diulang. Ini bukan berarti NIK tidak terdaftar."
    )
