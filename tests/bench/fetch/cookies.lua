-- wrk script: GET with a typical Cookie header of 7 cookies (the one fetch_bench --parse reads).
wrk.headers["Cookie"] = "_ga=GA1.1.1234567890.1700000000; theme=dark; locale=en-GB; " ..
  "_dynamo_session=SFMyNTY.g3QAAAABbQAAAAd1c2VyX2lkYQ8.aGVsbG8gd29ybGQgc2lnbmF0dXJl; " ..
  "csrf=Zm9vYmFyYmF6cXV4; consent=1; last_seen=1700000000"
