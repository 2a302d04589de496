/* keys_fixture.h: real public keys (made with ssh-keygen) shared by the
 * proxy side's unit tests. */
#ifndef SERCON_TEST_KEYS_FIXTURE_H
#define SERCON_TEST_KEYS_FIXTURE_H

#define ED_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAILRDQrSy8ckPfUNwKPSRWRCq0jCXBYzL1UsG0y/FFcAA"
#define ED2_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIG4fIFl1MTZHXseKuAchLnRzYrxp+BkykcZu5ULDJUkt"
#define ECDSA_BLOB "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBDOWWb93+FVgpGxsEPctBYD0z/n7mGnlwMyYMwjf6GQgZVcfReSOqIBVKLbsNGC8c1Z2o4oHQ974NMfHP1NlGk="
#define RSA_BLOB "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCjgzxIg5QHhFoXXc8vTagH2JkyEJdQ56y35RjkbwBgiR9WfpGkao1nBlmnlvPutrvlmbo2ORi6zBhMMzfOrj6AcAiOth+mIVL421XY7f29raAFCp5I5TCmVEVpxmZgc4oSt/ELRAN2/HnRml5gXDLt3MU7meSyuZaMZNRHtMBTiw=="
/* the start of an ed25519 user certificate */
#define CERT_BLOB "AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIDDqQbl9PA+jsT00iVp/Apo4IsOLOGGsjQNLg0nrinB8"

#define ED_LINE "ssh-ed25519 " ED_BLOB " c@x"
#define ED2_LINE "ssh-ed25519 " ED2_BLOB " b"

#endif
