#!/usr/bin/env python3
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
"""Write Redis protocol (for `redis-cli --pipe`) that adds N entries to the
events stream as payhook-fetcher's store script leaves them (XADD
{p}events * provider P entity_type T entity_id ID fetched_at MS status S
body JSON), so that a deliverer can be measured alone. The entries cycle over
the four routes (OneInfinite payment_order and recurrent_payment, Cielo sale
and recurrent_payment) with a body of the providers' size (300 to 600
bytes); every entry names an entity of its own, so none supersedes another.

usage: deliver-events.py N TAG [PREFIX]
"""
import sys
import time
import zlib

# (provider, entity_type, status, body with {id}): the shapes of bench/lib.sh's API stand-in.
ROUTES = (
    ("oneinfinite", "payment_order", "CLOSED",
     '{"id":"%s","status":"CLOSED","amount":{"value":"150.00","currency":"BRL"},'
     '"payer":{"name":"Maria Silva","email":"maria@example.com","document":"12345678909"},'
     '"description":"Order 4711","created_at":"2026-11-23T10:00:00Z",'
     '"updated_at":"2026-11-23T10:05:00Z","expires_at":"2026-11-30T10:00:00Z",'
     '"payment_method":"PIX","version":3}'),
    ("oneinfinite", "recurrent_payment", "ACTIVE",
     '{"id":"%s","status":"ACTIVE","amount":{"value":"49.90","currency":"BRL"},'
     '"frequency":"MONTHLY","payer":{"name":"Maria Silva","email":"maria@example.com"},'
     '"start_date":"2026-11-01","next_charge_date":"2026-12-01","charges":3,'
     '"created_at":"2026-11-01T09:00:00Z","updated_at":"2026-11-23T10:05:00Z"}'),
    ("cielo", "sale", "2",
     '{"MerchantOrderId":"2017051002","Customer":{"Name":"Comprador Teste"},'
     '"Payment":{"ServiceTaxAmount":0,"Installments":1,"Interest":"ByMerchant","Capture":true,'
     '"Authenticate":false,"CreditCard":{"CardNumber":"455187******0183",'
     '"Holder":"Teste Holder","ExpirationDate":"12/2030","SaveCard":false,"Brand":"Visa"},'
     '"ProofOfSale":"674532","Tid":"0305020554239","AuthorizationCode":"123456",'
     '"PaymentId":"%s","Type":"CreditCard","Amount":15700,"Currency":"BRL","Country":"BRA",'
     '"Status":2,"ReturnCode":"6","ReturnMessage":"Operation Successful"}}'),
    ("cielo", "recurrent_payment", "1",
     '{"Customer":{"Name":"Fulano da Silva"},"RecurrentPayment":{"RecurrentPaymentId":"%s",'
     '"NextRecurrency":"2026-12-23","StartDate":"2026-11-23","EndDate":"2027-11-23",'
     '"Interval":"Monthly","Amount":15000,"Country":"BRA","CreateDate":"2026-11-23T00:00:00",'
     '"Currency":"BRL","CurrentRecurrencyTry":1,"OrderNumber":"2017051101","Status":1,'
     '"RecurrencyDay":23,"SuccessfulRecurrences":1}}'),
)


def resp(*args):
    """One command in the Redis protocol."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def guid(tag, kind, i):
    """A GUID (Cielo ids are GUIDs) unique per tag, kind and i."""
    h = zlib.crc32(tag.encode())
    return "%08x-%04x-4%03x-8%03x-%012x" % (h, kind, (i >> 12) & 0xFFF, i & 0xFFF, i)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    n = int(sys.argv[1])
    tag = sys.argv[2]
    prefix = sys.argv[3] if len(sys.argv) > 3 else "payhook:"
    if n < 0 or n > 10000000 or not tag.replace("-", "").isalnum():
        sys.exit("deliver-events.py: N in 0..10000000, TAG of [A-Za-z0-9-]")
    now = int(time.time() * 1000)
    w = sys.stdout.buffer
    for i in range(n):
        provider, kind, status, body = ROUTES[i % 4]
        if provider == "oneinfinite":
            eid = "%s-%s-%08d" % (kind[:2], tag, i)
        else:
            eid = guid(tag, i % 4, i)
        w.write(resp("XADD", prefix + "events", "*", "provider", provider, "entity_type", kind,
                     "entity_id", eid, "fetched_at", str(now), "status", status,
                     "body", body % eid))


if __name__ == "__main__":
    main()
