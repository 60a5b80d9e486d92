// The libuv loop a context runs on: its own thread (the default) or the caller's loop
// (embedding), plus a task queue that lets any thread run work on the loop thread.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace blip::io {

class EventLoop {
public:
    /// Creates a loop and a thread running it.
    /// @return 0; BLIP_ENOMEM; BLIP_EIO (loop or thread creation failed; `err` says why).
    static int start_thread(std::unique_ptr<EventLoop>* out, std::string* err);
    /// Uses `loop`, run by the caller; the calling thread is taken to be the loop thread.
    /// @return 0; BLIP_EINVAL (null loop); BLIP_ENOMEM; BLIP_EIO.
    static int attach(uv_loop_t* loop, std::unique_ptr<EventLoop>* out, std::string* err);

    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    /// Stops the loop if stop() was not called (without a before_stop step).
    ~EventLoop();

    [[nodiscard]] uv_loop_t* uv() const noexcept { return loop_; }
    [[nodiscard]] bool owns_thread() const noexcept { return owned_ != nullptr; }
    [[nodiscard]] bool on_loop_thread() const noexcept {
        return std::this_thread::get_id() == loop_thread_;
    }

    /// Queues `fn` to run on the loop thread, in order with other posted tasks. Any thread.
    /// @return false if the loop is stopping (`fn` is dropped, never run).
    bool post(std::function<void()> fn);

    /// Runs `fn` on the loop thread and waits for it to finish; runs it directly when called
    /// on the loop thread. @return false if the loop is stopping (`fn` not run).
    bool call(const std::function<void()>& fn);

    /// Runs `before_stop` on the loop thread (to close what lives on the loop), then stops
    /// taking tasks and closes the task handle. Own thread: waits until every handle is closed,
    /// joins the thread and closes the loop. Embedded: call it on the loop thread; the handles
    /// finish closing when the caller runs its loop again. Idempotent.
    void stop(const std::function<void()>& before_stop);

private:
    struct Tasks;  // the async handle and the queue; freed in the handle's close callback
    EventLoop() = default;
    int init(uv_loop_t* loop, std::string* err);

    uv_loop_t* loop_ = nullptr;
    std::unique_ptr<uv_loop_t> owned_;  // own-thread mode only
    std::thread thread_;
    std::thread::id loop_thread_;
    Tasks* tasks_ = nullptr;
    bool stopped_ = false;
};

}  // namespace blip::io
