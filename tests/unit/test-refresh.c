/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Status classes of every provider, entity type and status; schedules; refresh members. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "refresh.h"
#include "tap.h"

#define P PH_CLASS_PROGRESS
#define O PH_CLASS_ONGOING
#define S PH_CLASS_SETTLED
#define F PH_CLASS_FINAL

/* What the issue and the providers' documents say, written apart from the table. */
static const struct {
	const char *provider, *type, *body;
	const char *value; /* the table row it covers ("*" for a NULL row) */
	enum ph_status_class cls;
	int known;
} cases[] = {
	{ "oneinfinite", "payment_order", "{\"status\":\"OPENED\"}", "OPENED", P, 1 },
	{ "oneinfinite", "payment_order", "{\"status\":\"CLOSED\"}", "CLOSED", S, 1 },
	{ "oneinfinite", "payment_order", "{\"status\":\"EXPIRED\"}", "EXPIRED", F, 1 },
	{ "oneinfinite", "payment_order", "{\"status\":\"REJECTED\"}", "REJECTED", F, 1 },
	{ "oneinfinite", "payment_order", "{\"status\":\"REFUNDED\"}", "REFUNDED", F, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"PENDING\"}", "PENDING", P, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"TRIALING\"}", "TRIALING", P, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"INCOMPLETE\"}", "INCOMPLETE", P, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"UNPAID\"}", "UNPAID", P, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"ACTIVE\"}", "ACTIVE", O, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"CANCELED\"}", "CANCELED", F, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"COMPLETE\"}", "COMPLETE", F, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"EXPIRED\"}", "EXPIRED", F, 1 },
	{ "oneinfinite", "recurrent_payment", "{\"status\":\"REJECTED\"}", "REJECTED", F, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":0}}", "0", P, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":1}}", "1", P, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":12}}", "12", P, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":20}}", "20", P, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":2}}", "2", S, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":3}}", "3", F, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":10}}", "10", F, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":11}}", "11", F, 1 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":13}}", "13", F, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":1}}", "1", O, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":2}}", "*", F, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":3}}", "*", F, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":4}}", "*", F, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":5}}", "*", F, 1 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{\"Status\":99}}", "*", F, 1 },
	/* Missing, unknown, odd: in progress, not known. */
	{ "oneinfinite", "payment_order", "{\"id\":\"po1\"}", NULL, P, 0 },
	{ "oneinfinite", "payment_order", "{\"status\":\"SOMETHING_NEW\"}", NULL, P, 0 },
	{ "oneinfinite", "payment_order", "{\"status\":null}", NULL, P, 0 },
	{ "oneinfinite", "payment_order", "not json", NULL, P, 0 },
	{ "oneinfinite", "payment_order", "[1,2]", NULL, P, 0 },
	{ "cielo", "sale", "{\"Payment\":{\"Status\":77}}", NULL, P, 0 },
	{ "cielo", "sale", "{\"Payment\":7}", NULL, P, 0 },
	{ "cielo", "sale", "{\"Status\":2}", NULL, P, 0 },
	{ "cielo", "recurrent_payment", "{\"RecurrentPayment\":{}}", NULL, P, 0 },
	{ "oneinfinite", "refund", "{\"status\":\"CLOSED\"}", NULL, P, 0 },
	{ "mercadopago", "payment", "{\"status\":\"pending\"}", "pending", P, 1 },
	{ "mercadopago", "payment", "{\"status\":\"in_process\"}", "in_process", P, 1 },
	{ "mercadopago", "payment", "{\"status\":\"authorized\"}", "authorized", P, 1 },
	{ "mercadopago", "payment", "{\"status\":\"in_mediation\"}", "in_mediation", P, 1 },
	{ "mercadopago", "payment", "{\"status\":\"approved\"}", "approved", S, 1 },
	{ "mercadopago", "payment", "{\"status\":\"rejected\"}", "rejected", F, 1 },
	{ "mercadopago", "payment", "{\"status\":\"cancelled\"}", "cancelled", F, 1 },
	{ "mercadopago", "payment", "{\"status\":\"refunded\"}", "refunded", F, 1 },
	{ "mercadopago", "payment", "{\"status\":\"charged_back\"}", "charged_back", F, 1 },
	{ "mercadopago", "merchant_order", "{\"status\":\"opened\"}", "opened", P, 1 },
	{ "mercadopago", "merchant_order", "{\"status\":\"closed\"}", "closed", S, 1 },
	{ "mercadopago", "merchant_order", "{\"status\":\"expired\"}", "expired", F, 1 },
	{ "mercadopago", "subscription_preapproval", "{\"status\":\"pending\"}", "pending", P, 1 },
	{ "mercadopago", "subscription_preapproval", "{\"status\":\"authorized\"}", "authorized", O,
	    1 },
	{ "mercadopago", "subscription_preapproval", "{\"status\":\"paused\"}", "paused", O, 1 },
	{ "mercadopago", "subscription_preapproval", "{\"status\":\"cancelled\"}", "cancelled", F,
	    1 },
	{ "mercadopago", "subscription_authorized_payment", "{\"status\":\"scheduled\"}",
	    "scheduled", P, 1 },
	{ "mercadopago", "subscription_authorized_payment", "{\"status\":\"recycling\"}",
	    "recycling", P, 1 },
	{ "mercadopago", "subscription_authorized_payment", "{\"status\":\"processed\"}",
	    "processed", S, 1 },
	{ "mercadopago", "subscription_authorized_payment", "{\"status\":\"cancelled\"}",
	    "cancelled", F, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"requires_payment_method\"}",
	    "requires_payment_method", P, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"requires_confirmation\"}",
	    "requires_confirmation", P, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"requires_action\"}", "requires_action", P, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"processing\"}", "processing", P, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"requires_capture\"}", "requires_capture", P,
	    1 },
	{ "stripe", "payment_intent", "{\"status\":\"succeeded\"}", "succeeded", S, 1 },
	{ "stripe", "payment_intent", "{\"status\":\"canceled\"}", "canceled", F, 1 },
	{ "stripe", "charge", "{\"status\":\"pending\"}", "pending", P, 1 },
	{ "stripe", "charge", "{\"status\":\"succeeded\"}", "succeeded", S, 1 },
	{ "stripe", "charge", "{\"status\":\"failed\"}", "failed", F, 1 },
	{ "stripe", "refund", "{\"status\":\"pending\"}", "pending", P, 1 },
	{ "stripe", "refund", "{\"status\":\"requires_action\"}", "requires_action", P, 1 },
	{ "stripe", "refund", "{\"status\":\"succeeded\"}", "succeeded", S, 1 },
	{ "stripe", "refund", "{\"status\":\"failed\"}", "failed", F, 1 },
	{ "stripe", "refund", "{\"status\":\"canceled\"}", "canceled", F, 1 },
	{ "stripe", "invoice", "{\"status\":\"draft\"}", "draft", P, 1 },
	{ "stripe", "invoice", "{\"status\":\"open\"}", "open", P, 1 },
	{ "stripe", "invoice", "{\"status\":\"paid\"}", "paid", S, 1 },
	{ "stripe", "invoice", "{\"status\":\"uncollectible\"}", "uncollectible", S, 1 },
	{ "stripe", "invoice", "{\"status\":\"void\"}", "void", F, 1 },
	{ "stripe", "subscription", "{\"status\":\"incomplete\"}", "incomplete", P, 1 },
	{ "stripe", "subscription", "{\"status\":\"past_due\"}", "past_due", P, 1 },
	{ "stripe", "subscription", "{\"status\":\"unpaid\"}", "unpaid", P, 1 },
	{ "stripe", "subscription", "{\"status\":\"trialing\"}", "trialing", O, 1 },
	{ "stripe", "subscription", "{\"status\":\"active\"}", "active", O, 1 },
	{ "stripe", "subscription", "{\"status\":\"paused\"}", "paused", O, 1 },
	{ "stripe", "subscription", "{\"status\":\"canceled\"}", "canceled", F, 1 },
	{ "stripe", "subscription", "{\"status\":\"incomplete_expired\"}", "incomplete_expired", F,
	    1 },
	{ "stripe", "dispute", "{\"status\":\"warning_needs_response\"}", "warning_needs_response",
	    P, 1 },
	{ "stripe", "dispute", "{\"status\":\"warning_under_review\"}", "warning_under_review", P,
	    1 },
	{ "stripe", "dispute", "{\"status\":\"needs_response\"}", "needs_response", P, 1 },
	{ "stripe", "dispute", "{\"status\":\"under_review\"}", "under_review", P, 1 },
	{ "stripe", "dispute", "{\"status\":\"won\"}", "won", F, 1 },
	{ "stripe", "dispute", "{\"status\":\"lost\"}", "lost", F, 1 },
	{ "stripe", "dispute", "{\"status\":\"warning_closed\"}", "warning_closed", F, 1 },
	{ "stripe", "dispute", "{\"status\":\"prevented\"}", "prevented", F, 1 },
	{ "stripe", "checkout_session", "{\"status\":\"open\"}", "open", P, 1 },
	{ "stripe", "checkout_session", "{\"status\":\"complete\"}", "complete", S, 1 },
	{ "stripe", "checkout_session", "{\"status\":\"expired\"}", "expired", F, 1 },
	{ "mercadopago", "chargebacks", "{\"status\":\"x\"}", NULL, P, 0 },
	/* As text, or in another case: the same status. */
	{ "cielo", "sale", "{\"Payment\":{\"Status\":\"2\"}}", NULL, S, 1 },
	{ "oneinfinite", "payment_order", "{\"status\":\"closed\"}", NULL, S, 1 },
};

static void
test_classes(void)
{
	enum ph_status_class cls;
	char status[64];
	size_t i;
	int known;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		known = refresh_classify(cases[i].provider, cases[i].type, cases[i].body,
		    strlen(cases[i].body), status, sizeof status, &cls);
		ok(known == cases[i].known && cls == cases[i].cls, "%s %s %s: %s%s",
		    cases[i].provider, cases[i].type, cases[i].body,
		    refresh_class_name(cases[i].cls), cases[i].known ? "" : " (not known)");
	}
	refresh_classify("cielo", "sale", "{\"Payment\":{\"Status\":12}}", 26, status,
	    sizeof status, &cls);
	is_str(status, "12", "the status as text");
	refresh_classify("oneinfinite", "payment_order", "{\"status\":\"A\\\"\\nB\"}", 19, status,
	    sizeof status, &cls);
	is_str(status, "A??B", "a status is kept printable, no quote");
}

/* Every row of the table has a case above. */
static void
test_table_covered(void)
{
	const struct ph_provider *p;
	const struct ph_status_row *r;
	size_t i, k;
	int n = 0, missing = 0;

	for (k = 0; k < provider_count(); k++) {
		p = provider_at(k);
		for (r = p->statuses; r != NULL && r->entity_type != NULL; r++, n++) {
			for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
				if (cases[i].value != NULL &&
				    strcmp(cases[i].provider, p->name) == 0 &&
				    strcmp(cases[i].type, r->entity_type) == 0 &&
				    strcmp(cases[i].value, r->value != NULL ? r->value : "*") ==
				        0 &&
				    cases[i].cls == r->cls)
					break;
			}
			if (i == sizeof cases / sizeof cases[0]) {
				printf("# no case for %s %s %s\n", p->name, r->entity_type,
				    r->value != NULL ? r->value : "*");
				missing++;
			}
		}
	}
	ok(n >= 25 && missing == 0, "every one of the %d rows of the table has its case", n);
}

static void
test_schedules(void)
{
	char out[PH_REFRESH_STEPS_MAX * 16], err[160];

	ok(refresh_schedule_ms("60,300,900,3600,21600,86400", out, sizeof out, err, sizeof err) ==
	            0 &&
	        strcmp(out, "60000,300000,900000,3600000,21600000,86400000") == 0,
	    "the default schedule in ms");
	ok(refresh_schedule_ms("1, 2 ,3", out, sizeof out, err, sizeof err) == 0 &&
	        strcmp(out, "1000,2000,3000") == 0,
	    "spaces around steps");
	ok(refresh_last_step_ms("1000,2000,3000") == 3000, "last step");
	ok(refresh_last_step_ms("5000") == 5000, "last step of one");
	ok(refresh_schedule_ms("", out, sizeof out, err, sizeof err) != 0, "empty: refused");
	ok(refresh_schedule_ms("60,,300", out, sizeof out, err, sizeof err) != 0,
	    "empty step: refused");
	ok(refresh_schedule_ms("60;300", out, sizeof out, err, sizeof err) != 0,
	    "other separator: refused");
	ok(refresh_schedule_ms("0", out, sizeof out, err, sizeof err) != 0, "0 s: refused");
	ok(refresh_schedule_ms("-5", out, sizeof out, err, sizeof err) != 0, "negative: refused");
	ok(refresh_schedule_ms("31536001", out, sizeof out, err, sizeof err) != 0,
	    "over a year: refused");
	ok(refresh_schedule_ms("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
	                       "25,26,27,28,29,30,31,32,33",
	       out, sizeof out, err, sizeof err) != 0,
	    "33 steps: refused");
}

static void
test_members(void)
{
	char m[256], p[33], t[33], id[129];

	ok(refresh_member(m, sizeof m, "cielo", "sale", "abc") > 0 &&
	        strcmp(m, "cielo:sale:abc") == 0,
	    "member provider:type:id");
	ok(refresh_member(m, 8, "cielo", "sale", "abc") < 0, "member too long: -1");
	ok(refresh_member_parse("cielo:sale:a-b_1", 16, p, sizeof p, t, sizeof t, id, sizeof id) ==
	            0 &&
	        strcmp(p, "cielo") == 0 && strcmp(t, "sale") == 0 && strcmp(id, "a-b_1") == 0,
	    "member parsed");
	ok(refresh_member_parse("cielo:sale", 10, p, sizeof p, t, sizeof t, id, sizeof id) != 0,
	    "two parts: refused");
	ok(refresh_member_parse("cielo:sale:a:b", 14, p, sizeof p, t, sizeof t, id, sizeof id) != 0,
	    "four parts: refused");
	ok(refresh_member_parse("cielo:sale:a b", 14, p, sizeof p, t, sizeof t, id, sizeof id) != 0,
	    "a bad id: refused");
	ok(refresh_member_parse(":sale:x", 7, p, sizeof p, t, sizeof t, id, sizeof id) != 0,
	    "no provider: refused");
}

int
main(void)
{
	test_classes();
	test_table_covered();
	test_schedules();
	test_members();
	return tap_done();
}
