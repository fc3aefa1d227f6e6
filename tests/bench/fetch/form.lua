-- wrk script: POST a 10-field urlencoded form (the one fetch_bench --parse decodes).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "user%5Bname%5D=Jos%C3%A9+Valim&user%5Bemail%5D=jose%40example.com&user%5Bage%5D=38&" ..
  "title=Lazy+params&body=Nothing+is+parsed+until+asked.&tags%5B%5D=c&tags%5B%5D=erlang&" ..
  "published=true&category=framework&_csrf_token=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"
