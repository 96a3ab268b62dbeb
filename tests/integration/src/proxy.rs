//! A TCP proxy that loses one reply on purpose.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A TCP proxy that, once armed, forwards one command containing `needle`
/// (say `ECL.MLOG`) to the server and then cuts the connection instead of
/// returning the reply: the server applied it, the client never hears.
pub struct LosingProxy {
    pub port: u16,
    /// Set to cut the next matching command's reply; cleared when done.
    pub armed: Arc<AtomicBool>,
}

impl LosingProxy {
    pub fn start(server_port: u16, needle: &'static [u8]) -> LosingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let armed_for_thread = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let cut = Arc::new(AtomicBool::new(false));
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (armed, cut_up) = (armed_for_thread.clone(), cut.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if armed.load(Ordering::SeqCst)
                            && buf[..n].windows(needle.len()).any(|w| w == needle)
                        {
                            armed.store(false, Ordering::SeqCst);
                            cut_up.store(true, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = s_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if cut.load(Ordering::SeqCst) {
                            // The server applied the batch; the client never hears.
                            let _ = c_out.shutdown(Shutdown::Both);
                            let _ = s_in.shutdown(Shutdown::Both);
                            break;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        LosingProxy { port, armed }
    }
}
