require('node:http')
  .createServer((req, res) => res.end('failing-build built after all\n'))
  .listen(Number(process.env.PORT || 5000));
