"""`cis ca init|issue|revoke|crl|chain|status`: the operator's handle on the CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import DomainError
from cis.people.models import Person
from cis.pki import crl, hierarchy, selectors, services
from cis.pki.authority import active_row, issuing
from cis.pki.keystore import key_store
from cis.pki.models import AuthorityRole, Certificate


class Command(BaseCommand):
    help = "Set up and operate the CIS certificate authority."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        init = sub.add_parser("init", help="create the root, issuing CA and responder (idempotent)")
        init.add_argument("--algorithm", help="ec-p256 (default), ec-p384, rsa-2048 or rsa-3072")
        init.add_argument("--key-store", choices=["file", "pkcs11"], help="default: settings")

        issue = sub.add_parser("issue", help="issue a certificate from a CSR to a person")
        issue.add_argument("--csr", required=True, help="PKCS#10 request file (PEM or DER)")
        issue.add_argument("--person", required=True, metavar="USER_ID")
        issue.add_argument("--days", type=int, help="validity in days (default 730, at most 1095)")
        issue.add_argument("--out", help="where to write the PEM certificate (default: stdout)")

        revoke = sub.add_parser("revoke", help="revoke a certificate")
        named = revoke.add_mutually_exclusive_group(required=True)
        named.add_argument("--serial", metavar="HEX")
        named.add_argument(
            "--serials-file",
            metavar="FILE",
            help="revoke every serial in FILE (one a line) at once: all of them or none",
        )
        revoke.add_argument(
            "--reason",
            required=True,
            help="unspecified, keyCompromise, affiliationChanged, superseded, "
            "cessationOfOperation or privilegeWithdrawn",
        )

        crl_cmd = sub.add_parser("crl", help="publish the CRL if due (the daily job) and write it")
        crl_cmd.add_argument("--out", help="write the DER CRL here")
        crl_cmd.add_argument("--force", action="store_true", help="publish a new CRL now")
        crl_cmd.add_argument("--pem", action="store_true", help="write PEM instead of DER")
        crl_cmd.add_argument(
            "--root",
            action="store_true",
            help="the root CA's CRL (it covers the issuing CA certificate) instead",
        )

        chain = sub.add_parser("chain", help="write the CA chain (issuing CA, then root) as PEM")
        chain.add_argument("--out", help="default: stdout")

        sub.add_parser("status", help="show the CA, its key store and the current CRL")

    def _emit(self, path: str | None, data: bytes, *, text: bool) -> bool:
        """Write to a file, or PEM text to stdout; True when it went to a file."""
        if path and path != "-":
            try:
                Path(path).write_bytes(data)
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror}.") from None
            return True
        if not text:
            raise CommandError("A DER CRL is binary: give --out FILE, or --pem for text.")
        self.stdout.write(data.decode(), ending="")
        return False

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"_{options['subcommand']}")
        try:
            handler(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

    def _init(self, options: dict[str, Any]) -> None:
        result = hierarchy.ca_init(
            actor=CONSOLE, algorithm=options.get("algorithm"), store_kind=options.get("key_store")
        )
        verb = "Created" if result.created else "Already set up:"
        self.stdout.write(f"{verb} {result.root.subject} ({result.root.key_algorithm})")
        self.stdout.write(
            f"  issuing CA  {result.issuing.subject}  serial {result.issuing.serial_hex}"
        )
        self.stdout.write(
            f"  responder   {result.ocsp.subject}  until {result.ocsp.not_after:%Y-%m-%d}"
        )
        self.stdout.write(f"  CRL number  {result.crl_number}")

    def _issue(self, options: dict[str, Any]) -> None:
        try:
            csr = Path(options["csr"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['csr']}: {exc.strerror}.") from None
        person = Person.objects.filter(user_id=options["person"].strip()).first()
        if person is None:
            raise CommandError(f"No person has the user id {options['person']}.")
        cert = services.certificate_issue(
            actor=CONSOLE, person=person, csr_pem=csr, validity_days=options.get("days")
        )
        if self._emit(options.get("out"), cert.pem.encode(), text=True):
            self.stdout.write(
                f"Issued {cert.serial_hex} to {person} until {cert.not_after:%Y-%m-%d}: "
                f"{options['out']}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["serials_file"]:
            self._revoke_many(options)
            return
        serial = selectors.normalise_serial(options["serial"])
        cert = Certificate.objects.filter(serial_hex=serial).first()
        if cert is None:
            raise CommandError(f"CIS never issued a certificate with serial {serial}.")
        cert = services.certificate_revoke(
            actor=CONSOLE, certificate=cert, reason=options["reason"]
        )
        self.stdout.write(
            f"Revoked {cert.serial_hex} ({cert.get_revocation_reason_display()}) at "
            f"{cert.revoked_at:%Y-%m-%d %H:%M:%S %Z}; the CRL and OCSP show it now."
        )

    def _revoke_many(self, options: dict[str, Any]) -> None:
        try:
            text = Path(options["serials_file"]).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['serials_file']}: {exc.strerror}.") from None
        serials = [line.strip() for line in text.splitlines() if line.strip()]
        done = 0
        with transaction.atomic():  # all of the file, or none of it
            for start in range(0, len(serials), services.MAX_BULK_REVOCATIONS):
                certs = services.certificates_revoke(
                    actor=CONSOLE,
                    serials=serials[start : start + services.MAX_BULK_REVOCATIONS],
                    reason=options["reason"],
                )
                done += len(certs)
        self.stdout.write(
            f"Revoked {done} certificates; OCSP shows it now, the next CRL lists them."
        )

    def _crl(self, options: dict[str, Any]) -> None:
        role = AuthorityRole.ROOT if options["root"] else AuthorityRole.ISSUING
        published = crl.crl_publish(force=options["force"], role=role)
        if role == AuthorityRole.ISSUING:
            crl.crl_publish(force=False, role=AuthorityRole.ROOT)  # keep the root's current too
        summary = (
            f"{'Root CA ' if options['root'] else ''}CRL #{published.number}: "
            f"{published.entries} entries, this update "
            f"{published.this_update:%Y-%m-%d %H:%M:%S}Z, next update "
            f"{published.next_update:%Y-%m-%d %H:%M:%S}Z"
        )
        out = options.get("out")
        if out is None:
            self.stdout.write(summary)
            return
        data = published.der
        if options["pem"]:
            data = x509.load_der_x509_crl(data).public_bytes(serialization.Encoding.PEM)
        if self._emit(out, data, text=options["pem"]):
            self.stdout.write(f"{summary}: {out}")

    def _chain(self, options: dict[str, Any]) -> None:
        if self._emit(options.get("out"), selectors.chain_pem(), text=True):
            self.stdout.write(f"Wrote the CA chain to {options['out']}")

    def _status(self, options: dict[str, Any]) -> None:
        now = clock.now()
        for role in (AuthorityRole.ROOT, AuthorityRole.ISSUING, AuthorityRole.OCSP):
            row = active_row(role)
            if row is None:
                self.stdout.write(f"{role:8} not set up (run `cis ca init`)")
                continue
            fingerprint = row.certificate.fingerprint(hashes.SHA256()).hex(":")
            self.stdout.write(
                f"{role:8} {row.subject}\n         serial {row.serial_hex}, {row.key_algorithm}, "
                f"until {row.not_after:%Y-%m-%d} ({(row.not_after - now).days} days)\n"
                f"         SHA-256 {fingerprint}\n"
                f"         key in {key_store(row.key_store).describe()}"
            )
        try:
            issuing()
        except DomainError:
            return
        state = crl.current_crl()
        self.stdout.write(
            f"CRL      #{state.number}, {state.entries} entries, next update "
            f"{state.next_update:%Y-%m-%d %H:%M}Z"
        )
        root_state = crl.current_crl(AuthorityRole.ROOT)
        self.stdout.write(
            f"root CRL #{root_state.number}, {root_state.entries} entries, next update "
            f"{root_state.next_update:%Y-%m-%d %H:%M}Z"
        )
        issued = Certificate.objects.count()
        self.stdout.write(f"issued   {issued} certificates")
